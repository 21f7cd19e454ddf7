using System.IO.Compression;
using Microsoft.Net.Http.Headers;

namespace Orchestrator.Functions.Functions.V1;

/// <summary>
/// Serves Scalar's browser bundle (<c>GET /api/reference/scalar.js</c>) for the API reference page (<c>/api/docs</c>)
/// from the Scalar.AspNetCore package's embedded resources, behind the same sign-in as every other route.
/// </summary>
/// <remarks>
/// Scalar's own <c>MapScalarApiReference</c> marks its endpoints anonymous, which would put a route outside the
/// allow-list, so the bundle is served here instead. The resource is stored gzip-compressed
/// (<c>ScalarStaticAssets.scalar.js</c>); a client that accepts gzip gets it as stored with
/// <c>Content-Encoding: gzip</c>, any other gets it decompressed.
/// </remarks>
public static class ApiReferenceAssets
{
    /// <summary>The route of the bundle.</summary>
    public const string ScriptPath = "/api/reference/scalar.js";

    private const string ResourceName = "ScalarStaticAssets.scalar.js";

    /// <summary>Maps <see cref="ScriptPath"/> (authenticated by the fallback policy).</summary>
    /// <param name="app">Route builder.</param>
    /// <returns>The endpoint's convention builder.</returns>
    public static IEndpointConventionBuilder MapApiReferenceAssets(this IEndpointRouteBuilder app) =>
        app.MapGet(ScriptPath, (HttpContext context) =>
        {
            var stream = typeof(Scalar.AspNetCore.ScalarOptions).Assembly.GetManifestResourceStream(ResourceName);
            if (stream is null)
            {
                return Results.NotFound();
            }

            context.Response.Headers.Vary = HeaderNames.AcceptEncoding;
            context.Response.Headers.CacheControl = "private, max-age=86400";
            var acceptsGzip = context.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase);
            if (acceptsGzip)
            {
                context.Response.Headers.ContentEncoding = "gzip";
                return Results.Stream(stream, "text/javascript; charset=utf-8");
            }

            return Results.Stream(new GZipStream(stream, CompressionMode.Decompress), "text/javascript; charset=utf-8");
        }).ExcludeFromDescription();
}
