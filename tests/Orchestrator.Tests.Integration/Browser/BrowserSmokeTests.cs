using Orchestrator.Tests.Integration.EndToEnd;

namespace Orchestrator.Tests.Integration.Browser;

/// <summary>The browser itself works here: the sign-in screen renders with the app's own CSS and script, and no request leaves loopback.</summary>
public sealed class BrowserSmokeTests
{
    [Fact]
    public async Task The_sign_in_screen_renders_in_chromium_with_the_apps_own_assets()
    {
        await using var h = await Harness.StartAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync();
        var requests = new List<string>();
        page.Request += (_, r) => requests.Add(r.Url);
        var failures = new List<string>();
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                failures.Add(m.Text + " " + m.Location);
            }
        };

        await page.GotoAsync(new Uri(h.HostUrl, "app").ToString());
        Assert.EndsWith("/login?returnUrl=%2Fapp", page.Url, StringComparison.Ordinal);
        Assert.Equal("Sign in", await page.Locator("h1").InnerTextAsync());
        var background = await page.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor");
        Assert.Equal("rgb(247, 247, 245)", background); // app.css loaded (light scheme)
        Assert.True(await page.EvaluateAsync<bool>("typeof htmx === 'object'"), "htmx was not loaded from /lib/htmx");
        await Chromium.ScreenshotAsync(page, "login");
        Assert.All(requests, r => Assert.StartsWith(h.HostUrl.GetLeftPart(UriPartial.Authority), r, StringComparison.Ordinal));
        Assert.Empty(failures);
    }
}
