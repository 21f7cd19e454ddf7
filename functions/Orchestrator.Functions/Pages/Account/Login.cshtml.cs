using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Orchestrator.Functions.Web.Auth;
using Orchestrator.Shared.Accounts;

namespace Orchestrator.Functions.Pages.Account;

/// <summary><c>/login</c>: username and password; failures are throttled per username and per address (429 with <c>Retry-After</c>) and every attempt is recorded without the password.</summary>
public sealed class LoginModel(AccountStore accounts, ILogger<LoginModel> logger) : PageModel
{
    /// <summary>The form.</summary>
    [BindProperty]
    public LoginInput Input { get; set; } = new();

    /// <summary>Where to go after signing in (a local path).</summary>
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    /// <summary>What went wrong, for the person.</summary>
    public string? Error { get; private set; }

    /// <summary>Whether no user exists yet (the page points to <c>/init</c>).</summary>
    public bool NoUsers { get; private set; }

    /// <summary>Shows the form (or goes on when already signed in).</summary>
    public async Task<IActionResult> OnGetAsync()
    {
        if (Caller.From(User) is { Kind: CallerKind.User })
        {
            return LocalRedirect(BrowserSessions.LocalOr(ReturnUrl, "/app"));
        }

        NoUsers = !await accounts.AnyUserAsync(HttpContext.RequestAborted);
        return Page();
    }

    /// <summary>Signs in.</summary>
    public async Task<IActionResult> OnPostAsync()
    {
        var ip = BrowserSessions.ClientIp(HttpContext);
        var username = (Input.Username ?? "").Trim();
        var userAgent = Request.Headers.UserAgent.ToString();
        if (await accounts.ThrottleAsync(username, ip, HttpContext.RequestAborted) is { } wait)
        {
            await accounts.RecordLoginAttemptAsync(username, ip, false, "throttled", userAgent, HttpContext.RequestAborted);
            var seconds = (int)Math.Ceiling(wait.TotalSeconds);
            Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Error = $"Too many failed sign-ins. Try again in {Math.Max(1, (int)Math.Ceiling(wait.TotalMinutes))} minute(s).";
            return Page();
        }

        if (!ModelState.IsValid)
        {
            Response.StatusCode = StatusCodes.Status400BadRequest;
            Error = "Enter your username and password.";
            return Page();
        }

        var (user, reason) = await accounts.VerifyPasswordAsync(username, Input.Password ?? "", HttpContext.RequestAborted);
        await accounts.RecordLoginAttemptAsync(username, ip, user is not null, reason, userAgent, HttpContext.RequestAborted);
        if (user is null)
        {
            logger.LogInformation("Sign-in refused ({Reason})", reason);
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            Error = "The username or password is not right.";
            return Page();
        }

        await BrowserSessions.StartAsync(HttpContext, accounts, user);
        logger.LogInformation("User {UserId} signed in", user.Id);
        return LocalRedirect(BrowserSessions.LocalOr(ReturnUrl, "/app"));
    }

    /// <summary>The sign-in form.</summary>
    public sealed class LoginInput
    {
        /// <summary>Username.</summary>
        [Required]
        [StringLength(128)]
        public string? Username { get; set; }

        /// <summary>Password.</summary>
        [Required]
        [StringLength(1024)]
        [DataType(DataType.Password)]
        public string? Password { get; set; }
    }
}
