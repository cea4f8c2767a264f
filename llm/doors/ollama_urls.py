from django.urls import path, re_path

from llm.doors import embeddings
from llm.doors import ollama_door as door
from llm.doors.compat import endpoint_not_found

urlpatterns = [
    path("", door.root),
    path("api/version", door.Version.as_view()),
    path("api/tags", door.Tags.as_view()),
    path("api/ps", door.Ps.as_view()),
    path("api/show", door.Show.as_view()),
    path("api/generate", door.Generate.as_view()),
    path("api/chat", door.Chat.as_view()),
    path("api/pull", door.Pull.as_view()),
    path("api/delete", door.Delete.as_view()),
    path("api/embed", embeddings.OllamaEmbed.as_view()),
    path("api/embeddings", embeddings.OllamaEmbeddings.as_view()),
    # Keep last: any other path, any method, is a 404 in Ollama's error shape.
    re_path(r"^.*$", endpoint_not_found),
]
