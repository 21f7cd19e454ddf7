using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Orchestrator.Functions.Web.Auth;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Configuration;

namespace Orchestrator.Functions.Pages.Account;

/// <summary>
/// <c>/init</c>: while no user exists, <c>ORCH_INIT_ADMIN_TOKEN</c> creates the host admin once (admin of every project).
/// Without the setting the page says how to set it; once a user exists it answers 404. The token is never logged.
/// </summary>
public sealed class InitModel(AccountStore accounts, OrchestratorSettings settings, ILogger<InitModel> logger) : PageModel
{
    /// <summary>The form.</summary>
    [BindProperty]
    public InitInput Input { get; set; } = new();

    /// <summary>Whether <c>ORCH_INIT_ADMIN_TOKEN</c> is set.</summary>
    public bool Configured => settings.InitAdminToken is not null;

    /// <summary>Field → message.</summary>
    public Dictionary<string, string> Errors { get; } = new(StringComparer.Ordinal);

    /// <summary>Shows the form, the setup hint, or 404 once a user exists.</summary>
    public async Task<IActionResult> OnGetAsync() => await accounts.AnyUserAsync(HttpContext.RequestAborted) ? NotFound() : Page();

    /// <summary>Creates the first admin.</summary>
    public async Task<IActionResult> OnPostAsync()
    {
        if (await accounts.AnyUserAsync(HttpContext.RequestAborted))
        {
            return NotFound();
        }

        if (settings.InitAdminToken is not { } expected)
        {
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }

        var ip = BrowserSessions.ClientIp(HttpContext);
        if (await accounts.ThrottleAsync("(init)", ip, HttpContext.RequestAborted) is { } wait)
        {
            Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Errors["token"] = "Too many wrong tokens. Try again later.";
            return Page();
        }

        var token = Input.Token ?? "";
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(token)), SHA256.HashData(Encoding.UTF8.GetBytes(expected))))
        {
            await accounts.RecordLoginAttemptAsync("(init)", ip, false, "wrong-init-token", Request.Headers.UserAgent.ToString(), HttpContext.RequestAborted);
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            Errors["token"] = "This is not the ORCH_INIT_ADMIN_TOKEN of this host.";
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

        if (Errors.Count > 0)
        {
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }

        UserAccount? admin;
        try
        {
            admin = await accounts.CreateFirstAdminAsync(Input.Username!.Trim(), Input.Password!, HttpContext.RequestAborted);
        }
        catch (AccountException ex)
        {
            foreach (var (field, message) in ex.Errors)
            {
                Errors[field] = message;
            }

            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }

        if (admin is null)
        {
            return NotFound(); // Someone else was first.
        }

        await accounts.RecordLoginAttemptAsync(admin.Username, ip, true, "init", Request.Headers.UserAgent.ToString(), HttpContext.RequestAborted);
        await BrowserSessions.StartAsync(HttpContext, accounts, admin);
        logger.LogInformation("Host admin created through /init (user {UserId})", admin.Id);
        TempData["Flash"] = $"Welcome, {admin.Username}. You are the host admin: create the first project.";
        return LocalRedirect("/app");
    }

    /// <summary>The form.</summary>
    public sealed class InitInput
    {
        /// <summary>The value of <c>ORCH_INIT_ADMIN_TOKEN</c>.</summary>
        [StringLength(512)]
        public string? Token { get; set; }

        /// <summary>The admin's username.</summary>
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
