"""URLs of restrictions, under /restrictions/ (risk analysts)."""

from django.urls import path

from . import views

app_name = "restrictions"

urlpatterns = [
    path("", views.RestrictionJobListView.as_view(), name="job_list"),
    path("bulk/", views.bulk, name="bulk"),
    path("jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/confirm/", views.job_confirm, name="job_confirm"),
    path("jobs/<int:job_id>/approve/", views.job_approve, name="job_approve"),
    path("jobs/<int:job_id>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<int:job_id>/resume/", views.job_resume, name="job_resume"),
    path("customers/", views.customer_find, name="customer_find"),
    path("customers/<int:customer_id>/", views.customer_restrictions_page, name="customer"),
]
