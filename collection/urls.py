"""URLs of the collections workbench, under /collections/."""

from django.urls import path

from . import views

app_name = "collections"

urlpatterns = [
    # --- Contacts under the conduct rules ---
    path("cases/<int:case_id>/contacts/", views.case_contacts, name="case_contacts"),
    path("", views.CaseQueueView.as_view(), name="case_queue"),
    path("mine/", views.MyQueueView.as_view(), name="my_queue"),
    path("<int:pk>/", views.case_detail, name="case_detail"),
    path("assign/", views.case_assign_bulk, name="case_assign_bulk"),
]
