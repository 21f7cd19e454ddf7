using System.Globalization;
using System.Text.Json;

namespace Orchestrator.Shared.Asana;

/// <summary>
/// Parses the <c>data</c> objects of Asana answers (schemas <c>TaskResponse</c>, <c>StoryResponse</c>,
/// <c>WebhookResponse</c>, <c>CustomFieldSettingResponse</c>, <c>EnumOption</c> of https://developers.asana.com/reference/rest-api-reference). Only <c>gid</c> is required;
/// fields missing because of <c>opt_fields</c> get empty defaults. Throws <see cref="FormatException"/> for a body
/// that is not the documented shape.
/// </summary>
internal static class AsanaJson
{
    public static AsanaTask ParseTask(JsonElement task) => new(
        RequiredString(task, "gid"),
        String(task, "name") ?? "",
        String(task, "notes") ?? "",
        String(task, "html_notes"),
        Bool(task, "completed"),
        String(task, "permalink_url"),
        Array(task, "custom_fields", f => new AsanaCustomField(
            RequiredString(f, "gid"),
            String(f, "name") ?? "",
            String(f, "resource_subtype"),
            Object(f, "enum_value") is { } e ? new AsanaEnumOption(RequiredString(e, "gid"), String(e, "name") ?? "") : null)),
        Array(task, "tags", t => new AsanaTag(RequiredString(t, "gid"), String(t, "name") ?? "")),
        Array(task, "memberships", m => new AsanaMembership(
            Object(m, "project") is { } p ? String(p, "gid") : null,
            Object(m, "section") is { } s ? String(s, "gid") : null,
            Object(m, "section") is { } n ? String(n, "name") : null)),
        Time(task, "modified_at"));

    public static AsanaTag ParseTag(JsonElement tag) => new(RequiredString(tag, "gid"), String(tag, "name") ?? "");

    public static AsanaStory ParseStory(JsonElement story) => new(
        RequiredString(story, "gid"),
        String(story, "resource_subtype"),
        String(story, "text"),
        String(story, "html_text"),
        Time(story, "created_at"),
        Object(story, "created_by") is { } user ? String(user, "gid") : null);

    public static AsanaWebhook ParseWebhook(JsonElement webhook) => new(
        RequiredString(webhook, "gid"),
        Object(webhook, "resource") is { } r ? RequiredString(r, "gid") : throw new FormatException("webhook.resource is missing."),
        String(webhook, "target") ?? "",
        Bool(webhook, "active"));

    public static AsanaCustomFieldSetting ParseCustomFieldSetting(JsonElement setting) => new(
        RequiredString(setting, "gid"),
        Bool(setting, "is_important"),
        Object(setting, "custom_field") is { } field
            ? new AsanaCustomFieldDefinition(
                RequiredString(field, "gid"),
                String(field, "name") ?? "",
                String(field, "resource_subtype"),
                Array(field, "enum_options", ParseFieldOption))
            : throw new FormatException("custom_field is missing."));

    // "enabled" is absent only when opt_fields did not ask for it; Asana creates options enabled.
    public static AsanaFieldOption ParseFieldOption(JsonElement option) => new(
        RequiredString(option, "gid"),
        String(option, "name") ?? "",
        !option.TryGetProperty("enabled", out _) || Bool(option, "enabled"));

    internal static string? String(JsonElement element, string name)
    {
        Expect(element, JsonValueKind.Object, "an object");
        return element.TryGetProperty(name, out var value) switch
        {
            false => null,
            true when value.ValueKind == JsonValueKind.String => value.GetString(),
            true when value.ValueKind == JsonValueKind.Null => null,
            _ => throw new FormatException($"{name} is {value.ValueKind}, not a string."),
        };
    }

    internal static string RequiredString(JsonElement element, string name) =>
        String(element, name) is { Length: > 0 } value ? value : throw new FormatException($"{name} is missing.");

    internal static JsonElement? Object(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object
            ? value
            : null;

    internal static DateTimeOffset? Time(JsonElement element, string name) =>
        String(element, name) is { } text
            ? DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                ? t
                : throw new FormatException($"{name} is not a timestamp: {text}")
            : null;

    private static bool Bool(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False or JsonValueKind.Null => false,
            _ => throw new FormatException($"{name} is not a boolean."),
        };

    private static IReadOnlyList<T> Array<T>(JsonElement element, string name, Func<JsonElement, T> parse)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        Expect(value, JsonValueKind.Array, "an array");
        return [.. value.EnumerateArray().Select(parse)];
    }

    private static void Expect(JsonElement element, JsonValueKind kind, string what)
    {
        if (element.ValueKind != kind)
        {
            throw new FormatException($"Expected {what}, got {element.ValueKind}.");
        }
    }
}
