using System.Security.Cryptography;
using System.Text;
using Npgsql;
using Orchestrator.Functions.Web.Auth;

namespace Orchestrator.Functions.Functions.V1;

/// <summary>Marks an endpoint that honours <c>Idempotency-Key</c>.</summary>
public sealed class IdempotentAttribute : Attribute;

/// <summary>
/// <c>Idempotency-Key</c> on <c>/api/v1</c> POSTs (the IETF draft "The Idempotency-Key HTTP Header Field",
/// https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/): the first answer to a key is stored
/// (table <c>idempotency_keys</c>, 24 hours) and a retry of the same request — same caller, method, path and body — gets
/// that answer again with <c>Idempotent-Replayed: true</c>, without running anything; the same key with a different
/// request is 422; a retry while the first is still running is 409. Without the header nothing changes.
/// </summary>
public sealed class IdempotencyMiddleware(RequestDelegate next)
{
    /// <summary>The header.</summary>
    public const string Header = "Idempotency-Key";

    /// <summary>How long an answer is kept.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    private const int MaxBody = 64 * 1024;
    private const int MaxRequestBody = 1024 * 1024;

    /// <summary>Runs the request, replays a stored answer, or refuses a reused key.</summary>
    public async Task InvokeAsync(HttpContext context, NpgsqlDataSource db, TimeProvider clock)
    {
        var key = context.Request.Headers[Header].ToString();
        if (key.Length == 0 || !HttpMethods.IsPost(context.Request.Method) || context.GetEndpoint()?.Metadata.GetMetadata<IdempotentAttribute>() is null
            || Caller.From(context.User) is not { } caller)
        {
            await next(context);
            return;
        }

        if (key.Length > 255 || key.Any(c => c < 0x21 || c > 0x7e))
        {
            await Problem(context, StatusCodes.Status400BadRequest, "Idempotency-Key must be 1–255 printable ASCII characters.");
            return;
        }

        // The request's identity: method, path and query, and the body's digest (the body is read once and put back).
        context.Request.EnableBuffering(MaxRequestBody);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes($"{context.Request.Method} {context.Request.Path}{context.Request.QueryString}\n"));
        var buffer = new byte[8192];
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
        {
            sha.AppendData(buffer, 0, read);
        }

        context.Request.Body.Position = 0;
        var hash = sha.GetHashAndReset();
        var who = $"{caller.Kind}:{caller.UserId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? caller.Name}";
        var now = clock.GetUtcNow();

        await using (var expire = db.CreateCommand("DELETE FROM idempotency_keys WHERE caller = @caller AND key = @key AND created_at < @expired"))
        {
            expire.Parameters.AddWithValue("caller", who);
            expire.Parameters.AddWithValue("key", key);
            expire.Parameters.AddWithValue("expired", now - Retention);
            await expire.ExecuteNonQueryAsync(context.RequestAborted);
        }

        bool first;
        await using (var claim = db.CreateCommand("INSERT INTO idempotency_keys (caller, key, request_hash, created_at) VALUES (@caller, @key, @hash, @now) ON CONFLICT DO NOTHING"))
        {
            claim.Parameters.AddWithValue("caller", who);
            claim.Parameters.AddWithValue("key", key);
            claim.Parameters.AddWithValue("hash", hash);
            claim.Parameters.AddWithValue("now", now);
            first = await claim.ExecuteNonQueryAsync(context.RequestAborted) == 1;
        }

        if (!first)
        {
            await using var look = db.CreateCommand("SELECT request_hash, status, content_type, body, location FROM idempotency_keys WHERE caller = @caller AND key = @key");
            look.Parameters.AddWithValue("caller", who);
            look.Parameters.AddWithValue("key", key);
            await using var reader = await look.ExecuteReaderAsync(context.RequestAborted);
            if (!await reader.ReadAsync(context.RequestAborted))
            {
                await Problem(context, StatusCodes.Status409Conflict, "A request with this Idempotency-Key is still running; retry later.");
                return;
            }

            if (!CryptographicOperations.FixedTimeEquals(reader.GetFieldValue<byte[]>(0), hash))
            {
                await Problem(context, StatusCodes.Status422UnprocessableEntity, "This Idempotency-Key was used for a different request; use a new key.");
                return;
            }

            if (reader.IsDBNull(1))
            {
                await Problem(context, StatusCodes.Status409Conflict, "A request with this Idempotency-Key is still running; retry later.");
                return;
            }

            context.Response.StatusCode = reader.GetInt32(1);
            context.Response.Headers["Idempotent-Replayed"] = "true";
            if (!reader.IsDBNull(2))
            {
                context.Response.ContentType = reader.GetString(2);
            }

            if (!reader.IsDBNull(4))
            {
                context.Response.Headers.Location = reader.GetString(4);
            }

            if (!reader.IsDBNull(3))
            {
                await context.Response.Body.WriteAsync(reader.GetFieldValue<byte[]>(3), context.RequestAborted);
            }

            return;
        }

        // First use: run it, keep what was answered.
        var original = context.Response.Body;
        using var captured = new MemoryStream();
        context.Response.Body = captured;
        try
        {
            await next(context);
        }
        catch
        {
            await ForgetAsync(db, who, key);
            throw;
        }
        finally
        {
            context.Response.Body = original;
        }

        captured.Position = 0;
        await captured.CopyToAsync(original, context.RequestAborted);
        if (context.Response.StatusCode >= 500)
        {
            await ForgetAsync(db, who, key); // a server error is not an answer worth replaying: a retry runs again
            return;
        }

        await using var store = db.CreateCommand("UPDATE idempotency_keys SET status = @status, content_type = @type, body = @body, location = @location WHERE caller = @caller AND key = @key");
        store.Parameters.AddWithValue("status", context.Response.StatusCode);
        store.Parameters.AddWithValue("type", (object?)context.Response.ContentType ?? DBNull.Value);
        store.Parameters.AddWithValue("body", captured.Length <= MaxBody ? captured.ToArray() : DBNull.Value);
        store.Parameters.AddWithValue("location", context.Response.Headers.Location.ToString() is { Length: > 0 } location ? location : DBNull.Value);
        store.Parameters.AddWithValue("caller", who);
        store.Parameters.AddWithValue("key", key);
        await store.ExecuteNonQueryAsync(CancellationToken.None);
    }

    private static async Task ForgetAsync(NpgsqlDataSource db, string who, string key)
    {
        await using var forget = db.CreateCommand("DELETE FROM idempotency_keys WHERE caller = @caller AND key = @key AND status IS NULL");
        forget.Parameters.AddWithValue("caller", who);
        forget.Parameters.AddWithValue("key", key);
        await forget.ExecuteNonQueryAsync(CancellationToken.None);
    }

    private static Task Problem(HttpContext context, int status, string detail) =>
        TypedResults.Problem(detail, statusCode: status, title: status == 422 ? "Idempotency-Key reused" : "Idempotency-Key").ExecuteAsync(context);
}
