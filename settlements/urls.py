"""URLs of settlements, restructures and write-offs, under /settlements/."""

from django.urls import path

from . import views

app_name = "settlements"

urlpatterns = [
    path("", views.ApprovalQueueView.as_view(), name="approval_queue"),
    path("cases/<int:case_id>/propose/", views.propose, name="propose"),
    path("<int:pk>/", views.decide, name="decide"),
]
