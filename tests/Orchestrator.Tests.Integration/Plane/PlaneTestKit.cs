using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Orchestrator.Shared.Plane;
using Orchestrator.Simulators;
using Orchestrator.Simulators.Plane;

namespace Orchestrator.Tests.Integration.Plane;

/// <summary>A running simulator with one project, and a client pointed at it.</summary>
internal sealed class PlaneTestKit : IAsyncDisposable
{
    public const string ApiKey = "plane_api_test_0123456789abcdef";
    public const string Slug = "acme";

    private PlaneTestKit(PlaneSimulator simulator, SimProject project, HttpClient http, PlaneClient client)
    {
        Simulator = simulator;
        Project = project;
        Http = http;
        Client = client;
    }

    public PlaneSimulator Simulator { get; }

    public SimProject Project { get; }

    public HttpClient Http { get; }

    public PlaneClient Client { get; }

    public string ProjectPath => $"/api/v1/workspaces/{Slug}/projects/{Project.Id}/";

    public static async Task<PlaneTestKit> StartAsync(int pageSize = 100)
    {
        var simulator = await PlaneSimulator.StartAsync(ApiKey, Slug);
        var project = simulator.AddProject(Guid.NewGuid().ToString(), "ACME");
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var client = new PlaneClient(http, new PlaneClientSettings(simulator.BaseUrl, ApiKey, Slug) { PageSize = pageSize });
        return new PlaneTestKit(simulator, project, http, client);
    }

    /// <summary>Every request the simulator saw, in arrival order.</summary>
    public IReadOnlyList<SimulatedRequest> Requests => Simulator.Host.Requests;

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Simulator.DisposeAsync();
    }
}

/// <summary>A webhook receiver on loopback that keeps the raw bytes and headers of every POST /hook.</summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<(byte[] Body, IReadOnlyDictionary<string, string> Headers)> _received = new();
    private readonly SemaphoreSlim _arrivals = new(0);

    private WebhookReceiver()
    {
    }

    public SimulatorHost Host { get; private set; } = null!;

    public Uri Url => new(Host.BaseUrl, "hook");

    /// <summary>Status the receiver answers with.</summary>
    public HttpStatusCode Answer { get; set; } = HttpStatusCode.OK;

    public IReadOnlyList<(byte[] Body, IReadOnlyDictionary<string, string> Headers)> Received => _received.ToArray();

    public static async Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver();
        receiver.Host = await SimulatorHost.StartAsync(
            "receiver",
            (endpoints, _) => endpoints.MapPost("/hook", async (HttpContext context) =>
            {
                using var buffer = new MemoryStream();
                await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
                var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
                receiver._received.Enqueue((buffer.ToArray(), headers));
                receiver._arrivals.Release();
                return Results.StatusCode((int)receiver.Answer);
            }),
            _ => null);
        return receiver;
    }

    /// <summary>Waits (with a deadline) until <paramref name="count"/> deliveries in total have arrived.</summary>
    public async Task WaitForAsync(int count, TimeSpan? deadline = null)
    {
        using var cts = new CancellationTokenSource(deadline ?? TimeSpan.FromSeconds(10));
        while (_received.Count < count)
        {
            await _arrivals.WaitAsync(cts.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        _arrivals.Dispose();
    }
}

internal static class TestJson
{
    public static Dictionary<string, string> Query(string pathAndQuery)
    {
        var q = pathAndQuery.IndexOf('?');
        return q < 0
            ? []
            : QueryHelpers.ParseQuery(pathAndQuery[q..]).ToDictionary(p => p.Key, p => p.Value.ToString());
    }

    public static string Path(string pathAndQuery)
    {
        var q = pathAndQuery.IndexOf('?');
        return q < 0 ? pathAndQuery : pathAndQuery[..q];
    }

    public static JsonObject Object(string json) => JsonNode.Parse(json)!.AsObject();

    public static string FixturePath(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", "plane", name);
}
