"""URLs of order decisions, under /decisions/."""

from django.urls import path

from . import views

app_name = "decisions"

urlpatterns = [
    path("try/", views.try_order, name="try_order"),
    path("review/", views.ReviewQueueView.as_view(), name="review_queue"),
    path("<int:pk>/", views.decision_detail, name="decision_detail"),
]
