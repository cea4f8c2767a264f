from django.db import migrations, models


class Migration(migrations.Migration):
    """What a model thought (Ollama's `think`) and the tools it called are kept with its reply."""

    dependencies = [
        ('llm', '0006_fleet'),
    ]

    operations = [
        migrations.AddField(
            model_name='generationrequest',
            name='thinking',
            field=models.TextField(blank=True, help_text="What the model thought before answering (Ollama's `think`)."),
        ),
        migrations.AddField(
            model_name='generationrequest',
            name='tool_calls',
            field=models.JSONField(blank=True, help_text='The tools the model called, as Ollama gives them (arguments an object).', null=True),
        ),
    ]
