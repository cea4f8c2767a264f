from django.contrib import admin, messages

from llm.models import ApiToken, GenerationRequest, Lease, ModelPull


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "owner", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "owner__username"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    fields = ["name", "owner", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        raw = None if change else obj.set_new_key()
        super().save_model(request, obj, form, change)
        if raw:
            self.message_user(
                request,
                f"The key for “{obj.name}” is {raw} — copy it now: it is stored only as a hash "
                "and will not be shown again.",
                messages.WARNING,
            )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.active():
            token.revoke()


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(GenerationRequest)
class GenerationRequestAdmin(ReadOnlyAdmin):
    list_display = ["request_id", "model", "status", "token", "created_at", "started_at", "finished_at", "eval_count"]
    list_filter = ["status", "model"]
    search_fields = ["request_id", "prompt", "token__name"]
    date_hierarchy = "created_at"


@admin.register(ModelPull)
class ModelPullAdmin(ReadOnlyAdmin):
    list_display = ["model", "status", "percent", "completed_bytes", "total_bytes", "created_at", "finished_at"]
    list_filter = ["status", "model"]
    search_fields = ["model", "error"]


@admin.register(Lease)
class LeaseAdmin(ReadOnlyAdmin):
    list_display = ["name", "holder", "expires_at"]
