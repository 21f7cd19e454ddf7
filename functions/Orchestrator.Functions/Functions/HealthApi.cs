using Npgsql;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Functions.Functions;

/// <summary><c>GET /healthz</c> (the process is up) and <c>GET /readyz</c> (database reachable, migrations applied).</summary>
public static class HealthApi
{
    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "ok" }));
        app.MapGet("/readyz", async Task<IResult> (NpgsqlDataSource db, CancellationToken ct) =>
        {
            try
            {
                var applied = await MigrationRunner.AppliedVersionAsync(db, ct);
                return applied >= MigrationRunner.LatestVersion
                    ? TypedResults.Ok(new { status = "ready", schemaVersion = applied })
                    : TypedResults.Json(new { status = "migrations pending", schemaVersion = applied, expected = MigrationRunner.LatestVersion }, statusCode: StatusCodes.Status503ServiceUnavailable);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                return TypedResults.Json(new { status = "database unreachable", error = ex.Message }, statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        });
        return app;
    }
}
