using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Orchestrator.Functions.Web.Auth;
using Orchestrator.Shared.Accounts;

namespace Orchestrator.Functions.Pages.Account;

/// <summary><c>/invite/{token}</c>: the invitee chooses a username and password and joins the project in the invite's role. Single use; a used or expired link says so (410).</summary>
public sealed class InviteModel(AccountStore accounts, ILogger<InviteModel> logger) : PageModel
{
    /// <summary>The invite token from the link.</summary>
    [BindProperty(SupportsGet = true)]
    public string Token { get; set; } = "";

    /// <summary>The form.</summary>
    [BindProperty]
    public InviteInput Input { get; set; } = new();

    /// <summary>The invite, when the token is known.</summary>
    public InviteInfo? Invite { get; private set; }

    /// <summary>Why the link cannot be used, or <c>null</c>.</summary>
    public string? Problem { get; private set; }

    /// <summary>Field → message.</summary>
    public Dictionary<string, string> Errors { get; } = new(StringComparer.Ordinal);

    /// <summary>Shows the invite.</summary>
    public async Task<IActionResult> OnGetAsync()
    {
        await LoadAsync();
        return Page();
    }

    /// <summary>Creates the account and signs in.</summary>
    public async Task<IActionResult> OnPostAsync()
    {
        await LoadAsync();
        if (Problem is not null)
        {
            return Page();
        }

        foreach (var (field, message) in accounts.Validate(Input.Username ?? "", Input.Password ?? ""))
        {
            Errors[field] = message;
        }

        if (Input.Password != Input.Confirm)
        {
            Errors["confirm"] = "The two passwords differ.";
        }

        if (Errors.Count == 0)
        {
            try
            {
                var (user, invite) = await accounts.AcceptInviteAsync(Token, Input.Username!.Trim(), Input.Password!, HttpContext.RequestAborted);
                await BrowserSessions.StartAsync(HttpContext, accounts, user);
                logger.LogInformation("User {UserId} joined project {Project} as {Role}", user.Id, invite.ProjectSlug, invite.Role.Name());
                TempData["Flash"] = $"Welcome, {user.Username}. You are {invite.Role.Name()} of this project.";
                return LocalRedirect($"/p/{Uri.EscapeDataString(invite.ProjectSlug)}");
            }
            catch (AccountException ex)
            {
                foreach (var (field, message) in ex.Errors)
                {
                    Errors[field] = message;
                }

                if (ex.Errors.TryGetValue("token", out var tokenProblem))
                {
                    Problem = tokenProblem;
                    Response.StatusCode = StatusCodes.Status410Gone;
                    return Page();
                }
            }
        }

        Response.StatusCode = StatusCodes.Status400BadRequest;
        return Page();
    }

    private async Task LoadAsync()
    {
        Invite = await accounts.GetInviteAsync(Token, HttpContext.RequestAborted);
        (Problem, Response.StatusCode) = Invite switch
        {
            null => ("This invite link is not valid. Check that you copied all of it, or ask for a new one.", StatusCodes.Status404NotFound),
            { UsedAt: not null } => ("This invite link has already been used. Sign in instead, or ask for a new link.", StatusCodes.Status410Gone),
            var i when i.ExpiresAt <= DateTimeOffset.UtcNow => ($"This invite link expired on {i.ExpiresAt:yyyy-MM-dd HH:mm} UTC. Ask the project admin for a new one.", StatusCodes.Status410Gone),
            _ => ((string?)null, StatusCodes.Status200OK),
        };
    }

    /// <summary>The form.</summary>
    public sealed class InviteInput
    {
        /// <summary>Username.</summary>
        [StringLength(64)]
        public string? Username { get; set; }

        /// <summary>Password.</summary>
        [StringLength(1024)]
        public string? Password { get; set; }

        /// <summary>The password again.</summary>
        [StringLength(1024)]
        public string? Confirm { get; set; }
    }
}
