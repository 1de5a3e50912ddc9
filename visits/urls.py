"""URLs of home visits, under /visits/."""

from django.urls import path

from . import views

app_name = "visits"

urlpatterns = [
    path("cases/<int:case_id>/request/", views.visit_request_view, name="request"),
    path("cases/<int:case_id>/cancel/", views.visit_case_cancel_view, name="case_cancel"),
    path("requested/", views.RequestedVisitsView.as_view(), name="requested"),
    path("<int:pk>/decide/", views.visit_decide, name="decide"),
    path("<int:pk>/cancel/", views.visit_cancel_view, name="cancel"),
    path("today/", views.visits_today, name="today"),
    path("<int:pk>/", views.visit_detail, name="detail"),
    path("<int:pk>/check-in/", views.visit_check_in_view, name="check_in"),
    path("<int:pk>/check-out/", views.visit_check_out_view, name="check_out"),
    path("<int:pk>/outcome/", views.visit_outcome_view, name="outcome"),
    path("photos/<int:photo_id>/", views.visit_photo, name="photo"),
]
