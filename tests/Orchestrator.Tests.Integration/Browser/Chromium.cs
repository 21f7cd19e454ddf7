using Microsoft.Playwright;

namespace Orchestrator.Tests.Integration.Browser;

/// <summary>
/// A real Chromium (Debian's package, installed by <c>.ci/install-browser.sh</c>) driven by Microsoft.Playwright through
/// <c>ExecutablePath</c> — Playwright's own browser download is never used. Headless, with the flags this machine needs
/// (no sandbox as root, no background networking: the network is closed). Screenshots go to
/// <c>TestResults/screenshots/</c> beside the test binaries, as test artefacts.
/// </summary>
public sealed class Chromium : IAsyncDisposable
{
    /// <summary>The browser binary (override with <c>ORCH_TEST_CHROMIUM</c>).</summary>
    public static string ExecutablePath => Environment.GetEnvironmentVariable("ORCH_TEST_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>Where screenshots are written.</summary>
    public static string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    private readonly IPlaywright _playwright;

    private Chromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    /// <summary>The browser.</summary>
    public IBrowser Browser { get; }

    /// <summary>Starts Chromium headless.</summary>
    /// <exception cref="FileNotFoundException">Chromium is not installed (run <c>bash .ci/install-browser.sh</c>).</exception>
    public static async Task<Chromium> LaunchAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new FileNotFoundException($"{ExecutablePath} is missing: run `bash .ci/install-browser.sh` (Debian's chromium package).", ExecutablePath);
        }

        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            ],
        });
        return new Chromium(playwright, browser);
    }

    /// <summary>A fresh context (its own cookies) and page, at a phone or desktop size.</summary>
    /// <param name="phone">A 390×844 viewport (an iPhone-sized screen) instead of 1280×900.</param>
    /// <param name="dark">Prefer the dark colour scheme.</param>
    public async Task<IPage> NewPageAsync(bool phone = false, bool dark = false)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = phone ? new ViewportSize { Width = 390, Height = 844 } : new ViewportSize { Width = 1280, Height = 900 },
            ColorScheme = dark ? ColorScheme.Dark : ColorScheme.Light,
            IsMobile = phone,
        });
        context.SetDefaultTimeout(15_000);
        return await context.NewPageAsync();
    }

    /// <summary>Saves a full-page screenshot <c>{name}.png</c> and returns its path.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        var path = Path.Combine(ScreenshotDirectory, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
