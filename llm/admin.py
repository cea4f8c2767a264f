from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from llm import audit, logins
from llm.models import ApiToken, AuditEntry, GenerationRequest, Lease, ModelPull


admin.site.login_form = logins.AdminLoginForm  # throttled, like the dashboard's login


class ApiTokenForm(forms.ModelForm):
    # Left out, a new token gets the least power: generate.
    role = forms.ChoiceField(choices=ApiToken.Role.choices, required=False, initial=ApiToken.Role.GENERATE)

    class Meta:
        model = ApiToken
        fields = "__all__"

    def clean_role(self):
        return self.cleaned_data["role"] or ApiToken.Role.GENERATE


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = [
        "name", "prefix", "role", "owner", "created_at", "last_used_at", "expires_at", "revoked_at",
        "request_count", "prompt_tokens", "generated_tokens",
    ]
    list_filter = ["role", "revoked_at", "expires_at"]
    search_fields = ["name", "prefix", "owner__username"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "request_count", "prompt_tokens", "generated_tokens"]
    fieldsets = [
        (None, {"fields": ["name", "role", "owner", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]}),
        ("Usage (generations finished)", {"fields": ["request_count", "prompt_tokens", "generated_tokens"]}),
    ]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.new_key = obj.set_new_key()  # for response_add; only its hash is stored
        super().save_model(request, obj, form, change)
        _audit_token_save(request, obj, form, change)

    @method_decorator(never_cache)
    def response_add(self, request, obj, post_url_continue=None):
        """The new key in this response's page, once: never in a message, which would
        carry it in the signed but readable `messages` cookie to the next page."""
        context = {
            **self.admin_site.each_context(request),
            "title": "Copy the new key",
            "opts": self.opts,
            "token": obj,
            "key": obj.new_key,
        }
        return TemplateResponse(request, "admin/llm/apitoken/key_created.html", context)

    def delete_model(self, request, obj):
        audit.record(audit.Action.TOKEN_DELETE, obj, user=request.user)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for token in queryset:
            audit.record(audit.Action.TOKEN_DELETE, token, user=request.user)
        super().delete_queryset(request, queryset)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.active():
            token.revoke()
            audit.record(audit.Action.TOKEN_REVOKE, token, user=request.user, token_id=token.pk)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(GenerationRequest)
class GenerationRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "request_id", "kind", "model", "status", "token", "created_at", "started_at", "finished_at", "eval_count"
    ]
    list_filter = ["status", "kind", "model"]
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


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "target", "who", "detail"]
    list_filter = ["action"]
    search_fields = ["action", "target", "token__name", "user__username"]
    date_hierarchy = "created_at"

    def has_delete_permission(self, request, obj=None):
        return False  # the trail stays whole

    @admin.display(description="who")
    def who(self, entry):
        if entry.user_id:
            return f"user {entry.user}"
        if entry.token_id:
            return f"token {entry.token}"
        return "the service"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "token")


def _audit_token_save(request, token, form, change):
    """token.create, token.revoke when revoked_at was set, token.change otherwise; never the key."""
    if not change:
        audit.record(audit.Action.TOKEN_CREATE, token, user=request.user, token_id=token.pk, role=token.role)
        return
    if not form.changed_data:
        return
    action = audit.Action.TOKEN_CHANGE
    if "revoked_at" in form.changed_data and token.revoked_at is not None:
        action = audit.Action.TOKEN_REVOKE
    audit.record(action, token, user=request.user, token_id=token.pk, changed=sorted(form.changed_data))
