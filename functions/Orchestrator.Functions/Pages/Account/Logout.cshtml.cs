using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Orchestrator.Functions.Web.Auth;
using Orchestrator.Shared.Accounts;

namespace Orchestrator.Functions.Pages.Account;

/// <summary><c>/logout</c>: ends the session (its row is deleted, so the cookie is worthless even if kept).</summary>
public sealed class LogoutModel(AccountStore accounts) : PageModel
{
    /// <summary>Shows a sign-out button.</summary>
    public void OnGet()
    {
    }

    /// <summary>Signs out (the form's antiforgery token is checked like every form's).</summary>
    public async Task<IActionResult> OnPostAsync()
    {
        await BrowserSessions.EndAsync(HttpContext, accounts);
        return LocalRedirect("/login");
    }
}
