from django.urls import path

from llm.api import embeddings
from llm.api import openai_door as door

urlpatterns = [
    path("models", door.Models.as_view()),
    path("chat/completions", door.ChatCompletions.as_view()),
    path("completions", door.Completions.as_view()),
    path("embeddings", embeddings.OpenAIEmbeddings.as_view()),
]
