using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Benchmarks;

/// <summary>One pre-signed GitHub delivery: unique body, unique delivery id, its <c>X-Hub-Signature-256</c>.</summary>
internal sealed record Delivery(string DeliveryId, byte[] Body, string Signature);

/// <summary>
/// Makes unique, signed <c>pull_request</c> deliveries from the real GitHub body the simulators use
/// (<c>shared/Orchestrator.Simulators/Payloads/github/pull_request.opened.raw-body.json</c>, embedded at
/// build time). Only the pull request's <c>number</c> and <c>id</c> change, so every body is distinct (the
/// inbox also dedupes on the body hash) and the router ignores it: no task is linked to that repository.
/// </summary>
internal sealed class Deliveries
{
    public const string EventName = "pull_request";
    private const string NumberField = "\"number\":315";
    private const string IdField = "\"id\":2916082459";

    private readonly string _template;
    private readonly byte[] _secret;
    private long _next;

    public Deliveries(string secret)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("pull_request.opened.raw-body.json")
            ?? throw new InvalidOperationException("The embedded pull_request.opened.raw-body.json is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        _template = reader.ReadToEnd();
        if (!_template.Contains(NumberField, StringComparison.Ordinal) || !_template.Contains(IdField, StringComparison.Ordinal))
        {
            throw new InvalidOperationException("The pull_request template changed: the fields this benchmark rewrites are gone.");
        }

        _secret = Encoding.UTF8.GetBytes(secret);

        // Numbers far from anything real; distinct across runs only for readability (each run has a fresh schema).
        _next = 1_000_000 + (Random.Shared.Next(0, 1_000) * 1_000_000L);
    }

    /// <summary>Body size in bytes (all bodies are within a few bytes of it).</summary>
    public int TemplateBytes => Encoding.UTF8.GetByteCount(_template);

    /// <summary>Builds and signs <paramref name="count"/> deliveries (in parallel; before any timing starts).</summary>
    public Delivery[] Create(int count)
    {
        var first = Interlocked.Add(ref _next, count) - count;
        var result = new Delivery[count];
        Parallel.For(0, count, i =>
        {
            var n = first + i;
            var body = Encoding.UTF8.GetBytes(_template
                .Replace(NumberField, $"\"number\":{n}", StringComparison.Ordinal)
                .Replace(IdField, $"\"id\":{9_000_000_000L + n}", StringComparison.Ordinal));
            var signature = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(_secret, body));
            result[i] = new Delivery(Guid.NewGuid().ToString(), body, signature);
        });
        return result;
    }
}
