from django import forms

from llm import catalog
from llm.engine import nodes


def _catalog_choices():
    return [(entry.name, entry.name) for entry in catalog.entries()]


def _model_field():
    return forms.ChoiceField(
        choices=_catalog_choices,
        error_messages={
            "required": "Choose a model.",
            "invalid_choice": "Unknown model: %(value)s is not in the catalog.",
        },
    )


class CatalogModelForm(forms.Form):
    """One model of the catalog, named in a hidden field of the Pull and Switch buttons."""

    model = _model_field()


class NodeServiceForm(forms.Form):
    """A node of LLM_NODES taken out of service, or back (the buttons of a node's card)."""

    node = forms.ChoiceField(choices=lambda: [(name, name) for name in nodes.names()],
                             error_messages={"invalid_choice": "Unknown node: %(value)s."})
    in_service = forms.BooleanField(required=False)


class PromptForm(forms.Form):
    model = _model_field()
    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), strip=False)
    max_tokens = forms.IntegerField(
        required=False, min_value=1, max_value=32768, help_text="Ollama's num_predict. Empty: the model's default."
    )
    temperature = forms.FloatField(required=False, min_value=0, max_value=2, help_text="Empty: the model's default.")

    def options(self):
        """Ollama's options for the generation."""
        data = self.cleaned_data
        names = {"num_predict": data["max_tokens"], "temperature": data["temperature"]}
        return {name: value for name, value in names.items() if value is not None}
