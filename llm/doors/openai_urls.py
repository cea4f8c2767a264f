from django.urls import path, re_path

from llm.doors import embeddings
from llm.doors import openai_door as door
from llm.doors.compat import endpoint_not_found

urlpatterns = [
    path("models", door.Models.as_view()),
    # Model ids hold ':' and '.' (llama3.2:3b), and may hold '/' (hf.co/user/model).
    path("models/<path:model_id>", door.Model.as_view()),
    path("chat/completions", door.ChatCompletions.as_view()),
    path("completions", door.Completions.as_view()),
    path("embeddings", embeddings.OpenAIEmbeddings.as_view()),
    # Keep last: any other path, any method, is a 404 in OpenAI's error shape.
    re_path(r"^.*$", endpoint_not_found),
]
