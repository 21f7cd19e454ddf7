using System.Text.RegularExpressions;

namespace Orchestrator.Shared.GitHub;

/// <summary>
/// Reads the RFC 8288 <c>Link</c> header GitHub uses for pagination
/// (https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api), e.g.
/// <c>&lt;https://api.github.com/repositories/1000/issues?per_page=3&amp;page=2&gt;; rel="next", &lt;…&amp;page=5&gt;; rel="last"</c>.
/// </summary>
internal static partial class GitHubLinkHeader
{
    // One link-value: <target> followed by its parameters up to the next '<'. URLs may contain
    // commas (e.g. labels=a,b), so the header is not split on ','.
    [GeneratedRegex("<(?<url>[^>]*)>(?<params>[^<]*)", RegexOptions.CultureInvariant)]
    private static partial Regex LinkValue();

    [GeneratedRegex("""(?:^|;)\s*rel\s*=\s*(?:"(?<rel>[^"]*)"|(?<rel>[^;,\s]+))""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex RelParameter();

    /// <summary>The target of the link whose <c>rel</c> contains <paramref name="relation"/>, or <c>null</c>.</summary>
    /// <param name="headerValues">Every <c>Link</c> header value of the response.</param>
    /// <param name="relation">Relation type, e.g. <c>next</c>.</param>
    public static string? Find(IEnumerable<string> headerValues, string relation)
    {
        foreach (var header in headerValues)
        {
            foreach (Match link in LinkValue().Matches(header))
            {
                var rel = RelParameter().Match(link.Groups["params"].Value);
                if (!rel.Success)
                {
                    continue;
                }

                // rel may hold several space-separated relation types (RFC 8288 §3.3).
                var relations = rel.Groups["rel"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (relations.Contains(relation, StringComparer.OrdinalIgnoreCase))
                {
                    return link.Groups["url"].Value.Trim();
                }
            }
        }

        return null;
    }
}
