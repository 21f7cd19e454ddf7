using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Orchestrator.Shared.Asana;
using Orchestrator.Simulators;
using Orchestrator.Simulators.Asana;

namespace Orchestrator.Tests.Integration.Asana;

/// <summary>A running Asana simulator with one project and an enum field, and a client pointed at it.</summary>
internal sealed class AsanaTestKit : IAsyncDisposable
{
    public const string Token = "2/1200000000000001/1200000000000002:0123456789abcdef";

    private AsanaTestKit(AsanaSimulator simulator, HttpClient http, AsanaClient client, string projectGid, SimAsanaEnumField agent)
    {
        Simulator = simulator;
        Http = http;
        Client = client;
        ProjectGid = projectGid;
        Agent = agent;
    }

    public AsanaSimulator Simulator { get; }

    public HttpClient Http { get; }

    public AsanaClient Client { get; }

    public string ProjectGid { get; }

    public SimAsanaEnumField Agent { get; }

    public IReadOnlyList<SimulatedRequest> Requests => Simulator.Host.Requests;

    public static async Task<AsanaTestKit> StartAsync(int pageSize = 100)
    {
        var simulator = await AsanaSimulator.StartAsync(Token);
        var project = simulator.AddProject("Engineering");
        var agent = simulator.AddEnumField("Agent", "opencode", "codex");
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var client = new AsanaClient(http, new AsanaClientSettings(simulator.ApiBaseUrl, Token) { PageSize = pageSize });
        return new AsanaTestKit(simulator, http, client, project, agent);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Simulator.DisposeAsync();
    }
}

/// <summary>
/// A webhook receiver as the orchestrator would run one: answers Asana's handshake by echoing X-Hook-Secret
/// (unless told not to), stores the secret, and keeps the raw bytes and headers of every delivery.
/// </summary>
internal sealed class AsanaReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<(byte[] Body, IReadOnlyDictionary<string, string> Headers)> _deliveries = new();
    private readonly SemaphoreSlim _arrivals = new(0);

    public SimulatorHost Host { get; private set; } = null!;

    public Uri Url => new(Host.BaseUrl, "hooks/asana?project=7");

    /// <summary>Whether the handshake answer echoes the secret.</summary>
    public bool Echo { get; set; } = true;

    /// <summary>Runs during the handshake, before the answer (to observe the simulator mid-call).</summary>
    public Action? OnHandshake { get; set; }

    public string? Secret { get; private set; }

    public IReadOnlyList<(byte[] Body, IReadOnlyDictionary<string, string> Headers)> Deliveries => _deliveries.ToArray();

    public static async Task<AsanaReceiver> StartAsync()
    {
        var receiver = new AsanaReceiver();
        receiver.Host = await SimulatorHost.StartAsync(
            "receiver",
            (endpoints, _) => endpoints.MapPost("/hooks/asana", async (HttpContext context) =>
            {
                if (AsanaWebhooks.TryGetHandshakeSecret(context.Request.Headers[AsanaWebhooks.HookSecretHeader].FirstOrDefault(), out var secret))
                {
                    receiver.OnHandshake?.Invoke();
                    if (receiver.Echo)
                    {
                        receiver.Secret = secret;
                        context.Response.Headers[AsanaWebhooks.HookSecretHeader] = secret;
                    }

                    context.Response.StatusCode = StatusCodes.Status200OK;
                    return;
                }

                using var buffer = new MemoryStream();
                await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
                var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
                receiver._deliveries.Enqueue((buffer.ToArray(), headers));
                receiver._arrivals.Release();
                context.Response.StatusCode = (int)HttpStatusCode.OK;
            }),
            _ => null);
        return receiver;
    }

    public async Task WaitForAsync(int count)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (_deliveries.Count < count)
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
