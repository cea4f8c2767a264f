from django.urls import path

from llm.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("live/", views.live, name="live"),
    path("history/", views.history, name="history"),
    path("usage/", views.usage, name="usage"),
    path("try/", views.try_prompt, name="try"),
    path("requests/<str:request_id>/", views.generation, name="request"),
    path("requests/<str:request_id>/live/", views.generation_live, name="request-live"),
    path("models/pull/", views.pull, name="pull"),
    path("models/pull-all/", views.pull_all, name="pull-all"),
    path("models/switch/", views.switch, name="switch"),
    path("models/unload/", views.unload, name="unload"),
    path("pulls/<int:pk>/cancel/", views.cancel_pull, name="cancel-pull"),
    path("queue/clear/", views.clear_queue, name="clear-queue"),
    path("nodes/service/", views.node_service, name="node-service"),
]
