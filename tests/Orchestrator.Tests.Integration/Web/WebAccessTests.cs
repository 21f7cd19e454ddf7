using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Shared.Accounts;
using Orchestrator.Tests.Integration.EndToEnd;

namespace Orchestrator.Tests.Integration.Web;

/// <summary>Issue #9 §1 over HTTP: the allow-list, /init, sign-in throttling, sessions, antiforgery, token scope and roles.</summary>
public sealed class WebAccessTests
{
    internal const string InitToken = "init-token-for-the-web-tests-0123";
    internal const string AdminPassword = "admin password of the tests";

    /// <summary>Every endpoint that answers an anonymous request without asking for credentials (issue #9's list).</summary>
    private static readonly string[] AllowList =
    [
        "/healthz", "/readyz", "/webhooks/plane", "/webhooks/github", "/webhooks/{kind}/{slug}", "/webhooks/asana/{slug}", "/webhooks/telegram",
        "/login", "/login/link/{token}", "/init", "/invite/{token}", "/error/{code:int}",
    ];

    internal static Task<Harness> StartAsync(Action<Dictionary<string, string?>>? tweak = null) =>
        Harness.StartAsync(s =>
        {
            s["INIT_ADMIN_TOKEN"] = InitToken;
            tweak?.Invoke(s);
        });

    /// <summary>Creates the host admin through /init and returns their browser.</summary>
    internal static async Task<Browserless> InitAdminAsync(Harness h, string username = "admin")
    {
        var browser = new Browserless(h.HostUrl);
        var (status, _, response) = await browser.SubmitAsync("/init", new Dictionary<string, string>
        {
            ["Input.Token"] = InitToken, ["Input.Username"] = username, ["Input.Password"] = AdminPassword, ["Input.Confirm"] = AdminPassword,
        });
        Assert.Equal(HttpStatusCode.Redirect, status);
        Assert.Equal("/app", response.Headers.Location?.OriginalString);
        return browser;
    }

    internal static async Task<Browserless> SignInAsync(Harness h, string username, string password)
    {
        var browser = new Browserless(h.HostUrl);
        var (status, _, _) = await browser.SubmitAsync("/login", new Dictionary<string, string> { ["Input.Username"] = username, ["Input.Password"] = password });
        Assert.Equal(HttpStatusCode.Redirect, status);
        return browser;
    }

    [Fact]
    public async Task Every_endpoint_refuses_an_anonymous_request_except_the_allow_list()
    {
        await using var h = await StartAsync();
        var endpoints = h.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        Assert.True(endpoints.Count > 25, $"only {endpoints.Count} endpoints");
        var refused = 0;
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = h.HostUrl };
        foreach (var endpoint in endpoints)
        {
            var pattern = endpoint.RoutePattern.RawText ?? "";
            var normalized = "/" + pattern.Trim('/');
            var path = "/" + string.Join("/", endpoint.RoutePattern.PathSegments.Select(s => string.Concat(s.Parts.Select(p => p switch
            {
                RoutePatternLiteralPart l => l.Content,
                RoutePatternParameterPart { Name: "code" } => "404",
                RoutePatternParameterPart { Name: "kind" } => "plane",
                RoutePatternParameterPart => "web",
                _ => "x",
            }))));
            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET", "POST"];
            foreach (var method in methods)
            {
                foreach (var accept in new[] { "application/json", "text/html" })
                {
                    using var request = new HttpRequestMessage(new HttpMethod(method), path);
                    request.Headers.Accept.ParseAdd(accept);
                    if (method is not ("GET" or "HEAD" or "DELETE"))
                    {
                        request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
                    }

                    using var response = await anonymous.SendAsync(request);
                    var status = (int)response.StatusCode;
                    if (AllowList.Contains(normalized, StringComparer.Ordinal))
                    {
                        continue; // Answers on its own terms (signature, page, health); checked by its own tests.
                    }

                    var asksForCredentials = status == 401 || (status == 302 && response.Headers.Location?.OriginalString.StartsWith("/login?returnUrl=", StringComparison.Ordinal) == true);
                    Assert.True(asksForCredentials, $"{method} {path} ({pattern}) answered an anonymous {accept} request with {status}");
                    refused++;
                }
            }
        }

        Assert.True(refused > 40, $"only {refused} refusals checked");
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM users"));
    }

    [Fact]
    public async Task Init_creates_the_host_admin_once_with_the_setup_token_and_then_answers_404()
    {
        await using var h = await StartAsync();
        using var stranger = new Browserless(h.HostUrl);
        var (wrong, wrongPage, _) = await stranger.SubmitAsync("/init", new Dictionary<string, string>
        {
            ["Input.Token"] = "not-the-token", ["Input.Username"] = "mallory", ["Input.Password"] = AdminPassword, ["Input.Confirm"] = AdminPassword,
        });
        Assert.Equal(HttpStatusCode.Unauthorized, wrong);
        Assert.Contains("not the ORCH_INIT_ADMIN_TOKEN", wrongPage.Body!.TextContent);
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM users"));

        var (weak, weakPage, _) = await stranger.SubmitAsync("/init", new Dictionary<string, string>
        {
            ["Input.Token"] = InitToken, ["Input.Username"] = "admin", ["Input.Password"] = "short", ["Input.Confirm"] = "short",
        });
        Assert.Equal(HttpStatusCode.BadRequest, weak);
        Assert.Contains("at least 12 characters", weakPage.Body!.TextContent);

        using var admin = await InitAdminAsync(h);
        Assert.NotNull(admin.SessionCookie);
        var (app, appPage, _) = await admin.GetAsync("/app");
        Assert.Equal(HttpStatusCode.OK, app);
        Assert.Contains("Create project", appPage.Body!.TextContent);
        Assert.True(await h.Db.ScalarAsync<bool>("SELECT is_host_admin FROM users WHERE username = 'admin'"));

        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync("/init")).Status);
        var (again, _, _) = await stranger.PostAsync("/init", new Dictionary<string, string> { ["Input.Token"] = InitToken });
        Assert.True(again is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"second /init answered {again}");
        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM users"));
        Assert.All(h.Logs.Lines, l => Assert.DoesNotContain(InitToken, l, StringComparison.Ordinal));
        Assert.All(h.Logs.Lines, l => Assert.DoesNotContain(AdminPassword, l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Init_without_the_setting_explains_how_to_set_it()
    {
        await using var h = await Harness.StartAsync();
        using var browser = new Browserless(h.HostUrl);
        var (status, page, _) = await browser.GetAsync("/init");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("ORCH_INIT_ADMIN_TOKEN", page.Body!.TextContent);
        Assert.DoesNotContain(page.Forms, f => f.QuerySelector("input[name='Input.Password']") is not null);
    }

    [Fact]
    public async Task Failed_sign_ins_are_throttled_per_username_with_retry_after_and_recorded_without_the_password()
    {
        await using var h = await StartAsync();
        using (await InitAdminAsync(h))
        {
        }

        using var attacker = new Browserless(h.HostUrl);
        for (var i = 0; i < 5; i++)
        {
            var (status, page, _) = await attacker.SubmitAsync("/login", new Dictionary<string, string> { ["Input.Username"] = "admin", ["Input.Password"] = $"guess number {i}!" });
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.Contains("not right", page.Body!.TextContent);
        }

        var (throttled, throttledPage, response) = await attacker.SubmitAsync("/login", new Dictionary<string, string> { ["Input.Username"] = "admin", ["Input.Password"] = AdminPassword });
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled);
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Contains("Too many failed sign-ins", throttledPage.Body!.TextContent);
        Assert.Null(attacker.SessionCookie);

        Assert.Equal(5L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM login_attempts WHERE reason = 'wrong-password'"));
        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM login_attempts WHERE reason = 'throttled'"));
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM login_attempts WHERE username LIKE '%guess%' OR reason LIKE '%guess%'"));
    }

    [Fact]
    public async Task Session_cookies_are_httponly_samesite_lax_and_secure_only_behind_a_trusted_https_proxy()
    {
        await using var h = await StartAsync(s => s["TRUSTED_PROXIES"] = "127.0.0.1");
        using (await InitAdminAsync(h))
        {
        }

        async Task<string> SetCookieAsync(string? proto)
        {
            // The form is read over plain HTTP (a cookie container keeps Secure cookies from http:// URLs); the sign-in
            // itself says it came through the proxy over HTTPS.
            using var browser = new Browserless(h.HostUrl);
            var (_, page, _) = await browser.GetAsync("/login");
            var token = page.QuerySelector("input[name=__RequestVerificationToken]")!.GetAttribute("value")!;
            using var post = new HttpRequestMessage(HttpMethod.Post, "/login")
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token, ["Input.Username"] = "admin", ["Input.Password"] = AdminPassword }),
            };
            if (proto is not null)
            {
                post.Headers.Add("X-Forwarded-Proto", proto);
            }

            using var response = await browser.Http.SendAsync(post);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            return response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("orch_session=", StringComparison.Ordinal));
        }

        var plain = await SetCookieAsync(null);
        Assert.Contains("httponly", plain, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", plain, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", plain.Replace("samesite", "", StringComparison.OrdinalIgnoreCase), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("secure", await SetCookieAsync("https"), StringComparison.OrdinalIgnoreCase);

        // An untrusted sender's X-Forwarded-Proto is ignored.
        await using var untrusted = await StartAsync();
        using (await InitAdminAsync(untrusted))
        {
        }

        using var spoofing = new Browserless(untrusted.HostUrl, "https");
        var (spoofStatus, _, spoofed) = await spoofing.SubmitAsync("/login", new Dictionary<string, string> { ["Input.Username"] = "admin", ["Input.Password"] = AdminPassword });
        Assert.Equal(HttpStatusCode.Redirect, spoofStatus);
        var cookie = spoofed.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("orch_session=", StringComparison.Ordinal));
        Assert.DoesNotContain("secure", cookie.Replace("samesite", "", StringComparison.OrdinalIgnoreCase), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Logout_and_a_password_change_revoke_sessions()
    {
        await using var h = await StartAsync();
        using var first = await InitAdminAsync(h);
        using var second = await SignInAsync(h, "admin", AdminPassword);
        var secondCookie = second.SessionCookie!;

        // Logout: the cookie value is worthless afterwards, even replayed.
        var (logout, _, _) = await first.SubmitAsync("/account", new Dictionary<string, string>(), formAction: "/logout");
        Assert.Equal(HttpStatusCode.Redirect, logout);
        var oldFirst = await h.Db.ScalarAsync<long>("SELECT count(*) FROM sessions");
        Assert.Equal(1L, oldFirst);

        // A password change ends every other session.
        var (changed, _, _) = await second.SubmitAsync("/account", new Dictionary<string, string>
        {
            ["Input.CurrentPassword"] = AdminPassword, ["Input.NewPassword"] = "a new admin password", ["Input.Confirm"] = "a new admin password",
        }, formAction: "handler=Password");
        Assert.Equal(HttpStatusCode.Redirect, changed);
        using var replay = new HttpClient { BaseAddress = h.HostUrl };
        replay.DefaultRequestHeaders.Add("Cookie", "orch_session=" + secondCookie);
        replay.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        Assert.Equal(HttpStatusCode.Unauthorized, (await replay.GetAsync("/api/projects")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await second.GetAsync("/account")).Status); // this browser got a new session
    }

    [Fact]
    public async Task Forms_and_cookie_authenticated_api_writes_need_the_antiforgery_token()
    {
        await using var h = await StartAsync();
        using var admin = await InitAdminAsync(h);

        // A form post without the token (a cross-site form) is refused with 400.
        var (form, _, _) = await admin.PostAsync("/account?handler=Password", new Dictionary<string, string>
        {
            ["Input.CurrentPassword"] = AdminPassword, ["Input.NewPassword"] = "an attacker's password", ["Input.Confirm"] = "an attacker's password",
        });
        Assert.Equal(HttpStatusCode.BadRequest, form);
        Assert.Equal("ok", (await h.App.Services.GetRequiredService<AccountStore>().VerifyPasswordAsync("admin", AdminPassword)).Reason);

        // The JSON API with the session cookie: 400 without the header, through with it.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/projects/web/sync");
        var (noHeader, _, _) = await Send(admin, request);
        Assert.Equal(HttpStatusCode.BadRequest, noHeader);
        using var withHeader = new HttpRequestMessage(HttpMethod.Post, "/api/projects/web/sync");
        withHeader.Headers.Add("X-CSRF-TOKEN", await admin.CsrfTokenAsync());
        var (ok, _, _) = await Send(admin, withHeader);
        Assert.Equal(HttpStatusCode.OK, ok);

        // Bearer requests carry no ambient credential and need no token.
        Assert.Equal(HttpStatusCode.OK, (await h.Api.PostAsync("api/projects/web/sync", null)).StatusCode);

        static async Task<(HttpStatusCode, string, HttpResponseMessage)> Send(Browserless browser, HttpRequestMessage message)
        {
            message.Headers.Accept.ParseAdd("application/json");
            var response = await browser.Http.SendAsync(message);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
        }
    }

    [Fact]
    public async Task Project_api_tokens_reach_their_own_project_only_and_within_their_role()
    {
        await using var h = await StartAsync();
        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        using (var created = await h.Api.PostAsync("api/projects", new StringContent(new JsonObject
        {
            ["slug"] = "other", ["work_item_prefix"] = "OTH",
            ["tracker"] = new JsonObject { ["kind"] = "plane", ["project_ids"] = new JsonArray(Guid.NewGuid().ToString()) },
            ["forge"] = new JsonObject { ["kind"] = "github", ["repos"] = new JsonArray("acme/other") },
        }.ToJsonString(), Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var (viewerToken, _) = await accounts.CreateApiTokenAsync("web", "read-only script", ProjectRole.Viewer, null);
        var (adminToken, _) = await accounts.CreateApiTokenAsync("web", "deploy script", ProjectRole.Admin, null);
        using var viewer = new HttpClient { BaseAddress = h.HostUrl };
        viewer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", viewerToken);

        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("api/projects/web")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await viewer.GetAsync("api/projects/other")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await viewer.GetAsync("api/projects/does-not-exist")).StatusCode);
        var list = JsonNode.Parse(await viewer.GetStringAsync("api/projects"))!["projects"]!.AsArray();
        Assert.Equal(["web"], list.Select(p => (string)p!["slug"]!));
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync("api/projects/web/sync", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("api/queue")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await viewer.PostAsync("api/projects/other/sync", null)).StatusCode);

        using var admin = new HttpClient { BaseAddress = h.HostUrl };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        var web = JsonNode.Parse(await admin.GetStringAsync("api/projects/web"))!.AsObject();
        web["name"] = "Web shop";
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("api/projects/web", new StringContent(web.ToJsonString(), Encoding.UTF8, "application/json"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.DeleteAsync("api/projects/web")).StatusCode); // deleting needs a host admin
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("api/projects/other")).StatusCode);

        await accounts.RevokeApiTokenAsync("web", (await accounts.ListApiTokensAsync("web")).Single(t => t.Role == ProjectRole.Viewer).Id);
        Assert.Equal(HttpStatusCode.Unauthorized, (await viewer.GetAsync("api/projects/web")).StatusCode);
    }

    [Fact]
    public async Task Members_see_only_their_projects_and_act_within_their_role()
    {
        await using var h = await StartAsync();
        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        var viewer = await accounts.CreateUserAsync("victor", "victor's long password");
        var editor = await accounts.CreateUserAsync("edith", "edith's long password");
        await accounts.SetMembershipAsync(viewer.Id, "web", ProjectRole.Viewer);
        await accounts.SetMembershipAsync(editor.Id, "web", ProjectRole.Editor);
        using var asViewer = await SignInAsync(h, "victor", "victor's long password");
        using var asEditor = await SignInAsync(h, "edith", "edith's long password");

        Assert.Equal(HttpStatusCode.OK, (await asViewer.GetAsync("/p/web")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await asViewer.GetAsync("/p/web/settings")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await asEditor.GetAsync("/p/web/settings")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await asViewer.GetAsync("/p/elsewhere")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await asViewer.GetAsync("/app/new")).Status);

        var (_, app, _) = await asViewer.GetAsync("/app");
        Assert.Contains("/p/web", app.Body!.InnerHtml);
        Assert.DoesNotContain("Create project", app.Body.TextContent);
    }
}
