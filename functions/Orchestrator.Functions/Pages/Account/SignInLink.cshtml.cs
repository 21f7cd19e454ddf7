using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Orchestrator.Functions.Web.Auth;
using Orchestrator.Shared.Accounts;

namespace Orchestrator.Functions.Pages.Account;

/// <summary>
/// <c>/login/link/{token}</c>: a one-time sign-in link (the demo prints one). The link only shows a button: link
/// previews and prefetchers that open it cannot use it up; pressing the button signs in and spends it.
/// </summary>
public sealed class SignInLinkModel(AccountStore accounts) : PageModel
{
    /// <summary>The token from the link.</summary>
    [BindProperty(SupportsGet = true)]
    public string Token { get; set; } = "";

    /// <summary>Whether the link did not work.</summary>
    public bool Failed { get; private set; }

    /// <summary>Shows the button.</summary>
    public void OnGet()
    {
    }

    /// <summary>Signs in with the link.</summary>
    public async Task<IActionResult> OnPostAsync()
    {
        var user = await accounts.RedeemSignInLinkAsync(Token, HttpContext.RequestAborted);
        if (user is null)
        {
            Failed = true;
            Response.StatusCode = StatusCodes.Status410Gone;
            return Page();
        }

        await BrowserSessions.StartAsync(HttpContext, accounts, user);
        await accounts.RecordLoginAttemptAsync(user.Username, BrowserSessions.ClientIp(HttpContext), true, "sign-in-link", Request.Headers.UserAgent.ToString(), HttpContext.RequestAborted);
        return LocalRedirect("/app");
    }
}
