"""URLs of the audit trail, under /audit/."""

from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.AuditEventListView.as_view(), name="event_list"),
    path("export.csv", views.audit_event_export, name="event_export"),
    path("reveal/<str:app_label>/<str:model>/<int:pk>/<str:field>/", views.pii_reveal, name="reveal"),
]
