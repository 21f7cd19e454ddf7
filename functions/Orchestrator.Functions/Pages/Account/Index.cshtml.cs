using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Orchestrator.Functions.Web.Auth;
using Orchestrator.Shared.Accounts;

namespace Orchestrator.Functions.Pages.Account;

/// <summary><c>/account</c>: change the password (every session ends, this browser is signed in again), the active sessions with "revoke", recent sign-ins.</summary>
public sealed class AccountModel(AccountStore accounts) : PageModel
{
    /// <summary>The password form.</summary>
    [BindProperty]
    public PasswordInput Input { get; set; } = new();

    /// <summary>The signed-in user.</summary>
    public UserAccount Me { get; private set; } = null!;

    /// <summary>This browser's session id.</summary>
    public string? CurrentSession { get; private set; }

    /// <summary>Live sessions.</summary>
    public IReadOnlyList<SessionInfo> Sessions { get; private set; } = [];

    /// <summary>Recent sign-in attempts for this username.</summary>
    public IReadOnlyList<LoginAttempt> Attempts { get; private set; } = [];

    /// <summary>Field → message.</summary>
    public Dictionary<string, string> Errors { get; } = new(StringComparer.Ordinal);

    /// <summary>Shows the page.</summary>
    public async Task<IActionResult> OnGetAsync() => await LoadAsync() ? Page() : Forbid();

    /// <summary>Changes the password.</summary>
    public async Task<IActionResult> OnPostPasswordAsync()
    {
        if (!await LoadAsync())
        {
            return Forbid();
        }

        if (Input.NewPassword != Input.Confirm)
        {
            Errors["confirm"] = "The two passwords differ.";
        }
        else
        {
            try
            {
                var revoked = await accounts.ChangePasswordAsync(Me.Id, Input.CurrentPassword ?? "", Input.NewPassword ?? "", HttpContext.RequestAborted);
                await BrowserSessions.StartAsync(HttpContext, accounts, Me);
                TempData["Flash"] = $"Password changed. {revoked} session(s) were signed out; this browser is signed in again.";
                return LocalRedirect("/account");
            }
            catch (AccountException ex)
            {
                foreach (var (field, message) in ex.Errors)
                {
                    Errors[field == "password" ? "new_password" : field] = message;
                }
            }
        }

        Response.StatusCode = StatusCodes.Status400BadRequest;
        return Page();
    }

    /// <summary>Revokes one session.</summary>
    public async Task<IActionResult> OnPostRevokeAsync(string id)
    {
        if (!await LoadAsync())
        {
            return Forbid();
        }

        var revoked = await accounts.RevokeSessionByIdAsync(Me.Id, id ?? "", HttpContext.RequestAborted);
        if (revoked && id == CurrentSession)
        {
            WebAuthDefaults.ClearSessionCookie(HttpContext);
            return LocalRedirect("/login");
        }

        TempData["Flash"] = revoked ? "The session was signed out." : "That session no longer exists.";
        return LocalRedirect("/account");
    }

    private async Task<bool> LoadAsync()
    {
        var caller = Caller.From(User);
        if (caller?.UserId is not { } id || await accounts.GetUserAsync(id, HttpContext.RequestAborted) is not { } me)
        {
            return false;
        }

        Me = me;
        CurrentSession = caller.SessionId;
        Sessions = await accounts.ListSessionsAsync(id, HttpContext.RequestAborted);
        Attempts = await accounts.RecentLoginAttemptsAsync(me.Username, 10, HttpContext.RequestAborted);
        ViewData["Section"] = "account";
        return true;
    }

    /// <summary>The password form.</summary>
    public sealed class PasswordInput
    {
        /// <summary>Current password.</summary>
        [StringLength(1024)]
        public string? CurrentPassword { get; set; }

        /// <summary>New password.</summary>
        [StringLength(1024)]
        public string? NewPassword { get; set; }

        /// <summary>New password again.</summary>
        [StringLength(1024)]
        public string? Confirm { get; set; }
    }
}
