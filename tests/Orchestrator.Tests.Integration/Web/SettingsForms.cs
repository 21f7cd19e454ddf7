using System.Net;
using AngleSharp.Dom;
using AngleSharp.Html.Dom;
using AngleSharp.Html.Parser;

namespace Orchestrator.Tests.Integration.Web;

/// <summary>
/// Submits a settings form as a browser would: every control of the form with its current value (text inputs, selects,
/// textareas, checked boxes, hidden fields — not only the hidden ones), then the test's changes on top.
/// </summary>
internal static class SettingsForms
{
    /// <summary>The name/value pairs a browser would send for <paramref name="form"/>.</summary>
    public static List<KeyValuePair<string, string>> FieldsOf(IHtmlFormElement form)
    {
        var fields = new List<KeyValuePair<string, string>>();
        foreach (var element in form.Elements)
        {
            switch (element)
            {
                case IHtmlInputElement { Name: { Length: > 0 } name } input when input.Type is not ("submit" or "button" or "reset" or "file"):
                    if (input.Type is "checkbox" or "radio" && !input.IsChecked)
                    {
                        break;
                    }

                    fields.Add(new(name, input.Value));
                    break;
                case IHtmlSelectElement { Name: { Length: > 0 } name } select:
                    fields.Add(new(name, select.Value ?? ""));
                    break;
                case IHtmlTextAreaElement { Name: { Length: > 0 } name } area:
                    fields.Add(new(name, area.Value));
                    break;
            }
        }

        return fields;
    }

    /// <summary>The form whose id is <paramref name="idOrAction"/>, or whose action contains each of its <c>&amp;</c>-separated parts (in any order).</summary>
    public static IHtmlFormElement Form(IHtmlDocument page, string idOrAction) =>
        page.Forms.FirstOrDefault(f => f.Id == idOrAction)
        ?? page.Forms.FirstOrDefault(f => idOrAction.Split('&').All(part => (f.GetAttribute("action") ?? "").Split('?', '&').Contains(part, StringComparer.Ordinal)))
        ?? throw new InvalidOperationException($"no form '{idOrAction}' in the page: {string.Join(", ", page.Forms.Select(f => f.Id ?? f.GetAttribute("action")))}");

    /// <summary>Posts <paramref name="fields"/> with <paramref name="changes"/> replacing (or adding) values by name.</summary>
    public static async Task<(HttpStatusCode Status, IHtmlDocument Document, HttpResponseMessage Response)> PostAsync(
        Browserless browser, string action, List<KeyValuePair<string, string>> fields, IDictionary<string, string>? changes = null)
    {
        var values = fields.ToList();
        foreach (var (name, value) in changes ?? new Dictionary<string, string>())
        {
            var at = values.FindIndex(v => v.Key == name);
            values.RemoveAll(v => v.Key == name);
            values.Insert(at < 0 ? values.Count : at, new(name, value));
        }

        var response = await browser.Http.PostAsync(action, new FormUrlEncodedContent(values));
        var html = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, new HtmlParser().ParseDocument(html), response);
    }

    /// <summary>GETs <paramref name="path"/> and submits its form <paramref name="form"/> with <paramref name="changes"/>.</summary>
    public static async Task<(HttpStatusCode Status, IHtmlDocument Document, HttpResponseMessage Response)> SubmitAsync(
        Browserless browser, string path, string form, IDictionary<string, string>? changes = null)
    {
        var (status, page, _) = await browser.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, status);
        var chosen = Form(page, form);
        var action = chosen.GetAttribute("action") is { Length: > 0 } a ? a : path;
        return await PostAsync(browser, action, FieldsOf(chosen), changes);
    }

    /// <summary>The error shown next to the control with id <paramref name="id"/> (in the same field container), or <c>null</c>.</summary>
    public static string? ErrorNextTo(IDocument page, string id)
    {
        var control = page.GetElementById(id) ?? throw new InvalidOperationException($"no #{id} in the page");
        var container = control.Closest("div, fieldset") ?? control.ParentElement!;
        return container.QuerySelector(".field-error")?.TextContent;
    }

    /// <summary>The value of the control with id <paramref name="id"/>.</summary>
    public static string? ValueOf(IDocument page, string id) => page.GetElementById(id) switch
    {
        IHtmlInputElement input => input.Value,
        IHtmlTextAreaElement area => area.Value,
        IHtmlSelectElement select => select.Value,
        _ => null,
    };
}
