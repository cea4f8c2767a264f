from django.db import migrations, models


class Migration(migrations.Migration):
    """The usage page's count of rate-limit refusals per token. (The history's index on
    finished_at is 0004_lean_data's.)"""

    dependencies = [
        ('llm', '0004_lean_data'),
    ]

    operations = [
        migrations.AddField(
            model_name='apitoken',
            name='rate_limited_count',
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
    ]
