using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Functions.V1;

/// <summary>
/// Examples of the <c>/api/v1</c> bodies, put into the OpenAPI document by an operation transformer: every JSON request and
/// response whose type is registered here gets an <c>example</c> serialized exactly as the API writes it. A type without
/// an example is a gap the OpenAPI test reports.
/// </summary>
public static class ApiExamples
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private static readonly DateTimeOffset At = new(2026, 12, 2, 9, 30, 0, TimeSpan.Zero);
    private static readonly Dictionary<Type, object> Samples = [];

    static ApiExamples()
    {
        var definition = new ProjectDefinition
        {
            Slug = "web",
            Name = "Web shop",
            WorkItemPrefix = "WEB",
            Tracker = new TrackerConfig { Kind = TrackerConfig.Plane, ProjectIds = ["4f7e1b2a-9c3d-4e5f-8a6b-1c2d3e4f5a6b"] },
            Forge = new ForgeConfig { Kind = ForgeConfig.GitHub, Repos = ["acme/web", "acme/api"], DefaultRepo = "acme/web" },
        };
        var project = new ProjectResource(definition, new Dictionary<string, string> { ["forge_token"] = "••••9f3c" }, 7, At.AddDays(-30), At,
            new ProjectWebhookPaths("/webhooks/plane/web", "/webhooks/github/web"));
        Add(project);
        Add(new ProjectList([project]));
        Add(new ProjectWrite(definition, new Dictionary<string, string?> { ["forge_token"] = "github_pat_…", ["tracker_token"] = null }));
        Add(new RepositoriesResource(["acme/web", "acme/api"], "acme/web"));
        var link = new LinkResource(12, "Runbook", "https://wiki.example.com/runbook", At);
        Add(link);
        Add(new ItemList<LinkResource>([link]));
        Add(new LinkWrite("Runbook", "https://wiki.example.com/runbook"));
        var contact = new ContactResource(3, "Dana Ops", "on call", "#ops on Slack", At);
        Add(contact);
        Add(new ItemList<ContactResource>([contact]));
        Add(new ContactWrite("Dana Ops", "on call", "#ops on Slack"));
        var note = new NoteResource(5, "Deploys", "Deploys go out on **Tuesdays**; never on Fridays.", At);
        Add(note);
        Add(new ItemList<NoteResource>([note]));
        Add(new NoteWrite("Deploys", "Deploys go out on **Tuesdays**; never on Fridays."));
        var task = new TaskResource("plane-0b6c1c7e-2a64-4f7f-9d52-1c5e9a7b3d10", "WEB-42", "Add a health endpoint", "WAITING_CI", "WAITING_CI", false, false, "acme/web",
            new TaskTrackerRef("plane", "4f7e1b2a-9c3d-4e5f-8a6b-1c2d3e4f5a6b", "0b6c1c7e-2a64-4f7f-9d52-1c5e9a7b3d10", "https://plane.example.com/acme/projects/4f7e1b2a/issues/0b6c1c7e"),
            new TaskForgeRef("github", 118, "https://github.com/acme/web/issues/118"), new TaskForgeRef("github", 121, "https://github.com/acme/web/pull/121"),
            "18cc785ed89e9653ea48823eb5320ab0b691d7da", "pending", null, null, null, At.AddHours(-3), At, null);
        Add(task);
        Add(new TaskListResource([task], "MTc2NDY2NzgwMDAwMDAwMDpwbGFuZS0wYjZj"));
    }

    /// <summary>Registers (or replaces) the example of a body type.</summary>
    /// <typeparam name="T">The type.</typeparam>
    /// <param name="sample">The example value.</param>
    public static void Add<T>(T sample)
        where T : notnull => Samples[typeof(T)] = sample;

    /// <summary>The example of a type as the API writes it, or <c>null</c>.</summary>
    /// <param name="type">The body type.</param>
    /// <returns>The JSON.</returns>
    public static JsonNode? For(Type type) => Samples.TryGetValue(type, out var sample) ? JsonSerializer.SerializeToNode(sample, type, Web) : null;

    /// <summary>Adds the transformer that writes the examples into the document.</summary>
    /// <param name="options">The document's options.</param>
    public static void AddExamples(this OpenApiOptions options) =>
        options.AddOperationTransformer((operation, context, _) =>
        {
            foreach (var response in context.Description.SupportedResponseTypes)
            {
                if (response.Type is { } type && For(type) is { } example
                    && operation.Responses?.TryGetValue(response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture), out var documented) == true
                    && documented.Content?.TryGetValue("application/json", out var media) == true && media is OpenApiMediaType concrete)
                {
                    concrete.Example = example;
                }
            }

            var body = context.Description.ParameterDescriptions.FirstOrDefault(p => p.Source == Microsoft.AspNetCore.Mvc.ModelBinding.BindingSource.Body)?.Type;
            var accepts = context.Description.ActionDescriptor.EndpointMetadata.OfType<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>().FirstOrDefault()?.RequestType;
            if ((body ?? accepts) is { } requestType && For(requestType) is { } requestExample
                && operation.RequestBody?.Content?.TryGetValue("application/json", out var requestMedia) == true && requestMedia is OpenApiMediaType requestConcrete)
            {
                requestConcrete.Example = requestExample;
            }

            return Task.CompletedTask;
        });
}
