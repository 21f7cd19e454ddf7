using System.Net;
using AngleSharp.Html.Dom;
using AngleSharp.Html.Parser;

namespace Orchestrator.Tests.Integration.Web;

/// <summary>
/// A cookie-keeping HTTP client for the screens, without a browser: it reads a page, fills its form (the antiforgery token
/// comes from the page, as a browser would send it) and posts it. Redirects are not followed, so tests see them.
/// </summary>
public sealed class Browserless : IDisposable
{
    private readonly HttpClient _http;

    public Browserless(Uri host, string? forwardedProto = null)
    {
        Cookies = new CookieContainer();
        _http = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false, UseCookies = true }) { BaseAddress = host };
        _http.DefaultRequestHeaders.Accept.ParseAdd("text/html");
        if (forwardedProto is not null)
        {
            _http.DefaultRequestHeaders.Add("X-Forwarded-Proto", forwardedProto);
        }
    }

    public CookieContainer Cookies { get; }

    public HttpClient Http => _http;

    /// <summary>GET a page: status, its parsed document and the raw response.</summary>
    public async Task<(HttpStatusCode Status, IHtmlDocument Document, HttpResponseMessage Response)> GetAsync(string path)
    {
        var response = await _http.GetAsync(path);
        var html = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, new HtmlParser().ParseDocument(html), response);
    }

    /// <summary>
    /// GET <paramref name="path"/>, then submit its form (the first one whose action matches <paramref name="formAction"/>,
    /// else the first form) with its hidden fields plus <paramref name="fields"/>.
    /// </summary>
    public async Task<(HttpStatusCode Status, IHtmlDocument Document, HttpResponseMessage Response)> SubmitAsync(string path, IDictionary<string, string> fields, string? formAction = null)
    {
        var (_, page, _) = await GetAsync(path);
        var forms = page.Forms.ToList();
        var form = (formAction is null ? null : forms.FirstOrDefault(f => (f.GetAttribute("action") ?? "").Contains(formAction, StringComparison.Ordinal)))
            ?? forms.FirstOrDefault(f => f.Method.Equals("post", StringComparison.OrdinalIgnoreCase) && !(f.GetAttribute("action") ?? "").EndsWith("/logout", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"{path} has no form");
        var values = form.QuerySelectorAll("input[type=hidden]").OfType<IHtmlInputElement>()
            .Where(i => i.Name is not null)
            .ToDictionary(i => i.Name!, i => i.Value);
        foreach (var (name, value) in fields)
        {
            values[name] = value;
        }

        var action = form.GetAttribute("action") is { Length: > 0 } a ? a : path;
        return await PostAsync(action, values);
    }

    /// <summary>POST form fields as <c>application/x-www-form-urlencoded</c>.</summary>
    public async Task<(HttpStatusCode Status, IHtmlDocument Document, HttpResponseMessage Response)> PostAsync(string path, IDictionary<string, string> fields)
    {
        var response = await _http.PostAsync(path, new FormUrlEncodedContent(fields));
        var html = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, new HtmlParser().ParseDocument(html), response);
    }

    /// <summary>The antiforgery request token the page at <paramref name="path"/> carries (its <c>csrf-token</c> meta).</summary>
    public async Task<string> CsrfTokenAsync(string path = "/app")
    {
        var (_, page, _) = await GetAsync(path);
        return page.QuerySelector("meta[name=csrf-token]")?.GetAttribute("content") ?? throw new InvalidOperationException("no csrf-token meta");
    }

    /// <summary>The session cookie's value, or <c>null</c>.</summary>
    public string? SessionCookie => Cookies.GetAllCookies().FirstOrDefault(c => c.Name == "orch_session" && !c.Expired)?.Value;

    public void Dispose() => _http.Dispose();
}
