using Microsoft.AspNetCore.Mvc;
using Orchestrator.Functions.Functions.V1;
using Orchestrator.Functions.Web;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Configuration;

namespace Orchestrator.Functions.Pages.Projects;

/// <summary>
/// <c>/p/{slug}/api</c> (project admins only): the project's API tokens — create one for a role (the token is shown once,
/// in the answer to the POST that made it, and never again: only its hash and first 12 characters are stored), the list
/// with prefix, role, creator, dates and revocation, revoke — and a curl example of every <c>/api/v1</c> operation, grouped by
/// area, built from the OpenAPI document (<see cref="CurlExamples"/>) with this host's URL and the project's slug filled in
/// and the token as the placeholder <c>$ORCH_TOKEN</c>.
/// </summary>
public sealed class ApiModel(AccountStore accounts, AuditLog audit, OrchestratorSettings settings) : ProjectPageModel
{
    /// <summary>The new token's name (the create form).</summary>
    [BindProperty]
    public string? TokenName { get; set; }

    /// <summary>The new token's role (the create form).</summary>
    [BindProperty]
    public string? TokenRole { get; set; } = "editor";

    /// <summary>The project's tokens, revoked ones too, newest first.</summary>
    public IReadOnlyList<ApiTokenInfo> Tokens { get; private set; } = [];

    /// <summary>The token just created (only in the answer to the POST that created it).</summary>
    public string? NewToken { get; private set; }

    /// <summary>Its record.</summary>
    public ApiTokenInfo? NewTokenInfo { get; private set; }

    /// <summary>Field → message.</summary>
    public Dictionary<string, string> Errors { get; } = new(StringComparer.Ordinal);

    /// <summary>The host's root URL for the examples (<c>ORCH_PUBLIC_URL</c>, else this request's scheme and host), without the trailing <c>/</c>.</summary>
    public string BaseUrl => WebLinks.BaseUrl(Request, settings).AbsoluteUri.TrimEnd('/');

    /// <inheritdoc />
    protected override ProjectRole ReadRole => ProjectRole.Admin;

    /// <inheritdoc />
    protected override ProjectRole WriteRole => ProjectRole.Admin;

    /// <inheritdoc />
    protected override string Section => "api";

    /// <summary>A curl command per <c>/api/v1</c> operation, in the OpenAPI document's order.</summary>
    public IReadOnlyList<CurlExample> Examples { get; private set; } = [];

    /// <summary>The examples grouped by area (the operations' first tag), areas in document order.</summary>
    public IEnumerable<IGrouping<string, CurlExample>> ExampleGroups => Examples.GroupBy(e => e.Tag, StringComparer.Ordinal);

    /// <summary>Shows the tokens and examples.</summary>
    /// <returns>The page.</returns>
    public async Task<IActionResult> OnGetAsync()
    {
        await LoadAsync();
        return Page();
    }

    /// <summary>Creates a token and shows it once.</summary>
    /// <returns>The page with the token, or with the problems.</returns>
    public async Task<IActionResult> OnPostCreateAsync()
    {
        if (!ProjectRoles.TryParse(TokenRole, out var role))
        {
            Errors[nameof(TokenRole)] = "Choose viewer, editor or admin.";
        }

        if (string.IsNullOrWhiteSpace(TokenName) || TokenName.Trim().Length > 100)
        {
            Errors[nameof(TokenName)] = "Give the token a name of 1–100 characters, e.g. the script or machine that uses it.";
        }

        if (Errors.Count == 0)
        {
            try
            {
                var (token, info) = await accounts.CreateApiTokenAsync(Project.Slug, TokenName!, role, Me.UserId, HttpContext.RequestAborted);
                audit.Record(Me, Project.Slug, "token.created", $"API token {info.Id} '{info.Name}' ({info.Prefix}…) as {info.Role.Name()}");

                // The token exists only in this answer: the database keeps its hash, and nothing here logs or redirects with it.
                NewToken = token;
                NewTokenInfo = info;
                TokenName = null;
                await LoadAsync();
                return Page();
            }
            catch (AccountException ex)
            {
                foreach (var (_, message) in ex.Errors)
                {
                    Errors[nameof(TokenName)] = message;
                }
            }
        }

        await LoadAsync();
        Response.StatusCode = StatusCodes.Status400BadRequest;
        return Page();
    }

    /// <summary>Revokes a token: requests with it are refused (401) from now on.</summary>
    /// <param name="id">The token.</param>
    /// <returns>A redirect to the page.</returns>
    public async Task<IActionResult> OnPostRevokeAsync(long id)
    {
        var token = (await accounts.ListApiTokensAsync(Project.Slug, HttpContext.RequestAborted)).FirstOrDefault(t => t.Id == id);
        var revoked = await accounts.RevokeApiTokenAsync(Project.Slug, id, HttpContext.RequestAborted);
        if (revoked)
        {
            audit.Record(Me, Project.Slug, "token.revoked", $"API token {id} '{token?.Name}' ({token?.Prefix}…)");
        }

        TempData["Flash"] = revoked ? $"The token '{token?.Name}' was revoked; requests with it now get 401." : "That token was already revoked.";
        return LocalRedirect($"/p/{Uri.EscapeDataString(Project.Slug)}/api");
    }

    private async Task LoadAsync()
    {
        Tokens = await accounts.ListApiTokensAsync(Project.Slug, HttpContext.RequestAborted);
        Examples = await CurlExamples.ForApiV1Async(HttpContext.RequestServices, BaseUrl, Project.Slug, $"{Project.Definition.WorkItemPrefix}-1", HttpContext.RequestAborted);
    }
}
