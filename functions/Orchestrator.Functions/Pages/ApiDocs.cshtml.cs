using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Orchestrator.Functions.Pages;

/// <summary>
/// <c>/api/docs</c>: the interactive API reference (Scalar, served from the app: <c>/api/reference/scalar.js</c>) over
/// <c>/openapi/v1.json</c>. Scalar styles itself with inline style elements, so this page alone allows inline styles;
/// scripts stay <c>'self'</c> only (the start-up script is <c>/js/api-docs.js</c>, not inline).
/// </summary>
public sealed class ApiDocsModel : PageModel
{
    /// <summary>The page's Content-Security-Policy.</summary>
    public const string Policy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

    /// <summary>Shows the reference.</summary>
    public void OnGet() => Response.Headers.ContentSecurityPolicy = Policy;
}
