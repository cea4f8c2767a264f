from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from llm.doors import schema  # noqa: F401  (registers the schema's view extensions)
from llm.doors import views

router = SimpleRouter()
# The contract's paths have no trailing slash; accept one too.
router.trailing_slash = "/?"
router.register("generate", views.GenerateViewSet, basename="generate")
router.register("requests", views.RequestViewSet, basename="request")
router.register("status", views.StatusViewSet, basename="status")
router.register("models", views.ModelsViewSet, basename="models")
router.register("pull", views.PullViewSet, basename="pull")
router.register("pull-all", views.PullAllViewSet, basename="pull-all")
router.register("pulls", views.PullProgressViewSet, basename="pulls")
router.register("switch", views.SwitchViewSet, basename="switch")
router.register("unload", views.UnloadViewSet, basename="unload")
router.register("queue", views.QueueViewSet, basename="queue")

app_name = "api"
urlpatterns = [
    # The OpenAPI 3 schema (YAML; ?format=json for JSON) and a page to read and try it.
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
    re_path(r"^(?P<path>.*)$", views.endpoint_not_found),
]
