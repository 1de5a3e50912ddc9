"""URLs of the collections workbench, under /collections/."""

from django.urls import path

from . import manager_views, views

app_name = "collections"

urlpatterns = [
    # --- Contacts under the conduct rules ---
    path("cases/<int:case_id>/contacts/", views.case_contacts, name="case_contacts"),
    path("", views.CaseQueueView.as_view(), name="case_queue"),
    path("mine/", views.MyQueueView.as_view(), name="my_queue"),
    path("<int:pk>/", views.case_detail, name="case_detail"),
    path("assign/", views.case_assign_bulk, name="case_assign_bulk"),
    # --- Case page (customer 360): its own actions ---
    path("cases/<int:case_id>/note/", views.case_note, name="case_note"),
    path("cases/<int:case_id>/reassign/", views.case_reassign, name="case_reassign"),
    path("cases/<int:case_id>/hold/", views.case_hold_toggle, name="case_hold"),
    # --- Managers: assignment rules by bucket, and the manager view ---
    path("rules/", manager_views.AssignmentRuleListView.as_view(), name="assignment_rules"),
    path("rules/add/", manager_views.assignment_rule_add, name="assignment_rule_add"),
    path("rules/<int:pk>/", manager_views.assignment_rule_edit, name="assignment_rule_edit"),
    path("performance/", manager_views.performance, name="performance"),
]
