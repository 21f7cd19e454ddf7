using Orchestrator.Shared.GitHub;

namespace Orchestrator.Tests.Unit.GitHub;

public sealed class ClosingKeywordsTests
{
    private static readonly RepoRef PrRepo = new("octo-org", "octo-repo");

    // Expected references are written "owner/name#N", space separated, in order; "" means none.
    [Theory]
    // Every keyword GitHub documents, in the same-repository form.
    [InlineData("close #10", "octo-org/octo-repo#10")]
    [InlineData("closes #10", "octo-org/octo-repo#10")]
    [InlineData("closed #10", "octo-org/octo-repo#10")]
    [InlineData("fix #10", "octo-org/octo-repo#10")]
    [InlineData("fixes #10", "octo-org/octo-repo#10")]
    [InlineData("fixed #10", "octo-org/octo-repo#10")]
    [InlineData("resolve #10", "octo-org/octo-repo#10")]
    [InlineData("resolves #10", "octo-org/octo-repo#10")]
    [InlineData("resolved #10", "octo-org/octo-repo#10")]
    // Mixed case and the docs' own examples.
    [InlineData("Closes #10", "octo-org/octo-repo#10")]
    [InlineData("FIXES #10", "octo-org/octo-repo#10")]
    [InlineData("rEsOlVeD #10", "octo-org/octo-repo#10")]
    [InlineData("Fixes octo-org/octo-repo#100", "octo-org/octo-repo#100")]
    [InlineData("Resolves #10, resolves #123, resolves octo-org/other-repo#100", "octo-org/octo-repo#10 octo-org/octo-repo#123 octo-org/other-repo#100")]
    // Optional colon, spacing.
    [InlineData("Fixes: #10", "octo-org/octo-repo#10")]
    [InlineData("Fixes:#10", "octo-org/octo-repo#10")]
    [InlineData("Fixes : #10", "octo-org/octo-repo#10")]
    [InlineData("Fixes\t#10", "octo-org/octo-repo#10")]
    [InlineData("Fixes   #10", "octo-org/octo-repo#10")]
    [InlineData("Closes: other/repo#5", "other/repo#5")]
    // Repository forms.
    [InlineData("fixes other-org/other.repo_x#7", "other-org/other.repo_x#7")]
    [InlineData("fixes https://github.com/other-org/other-repo/issues/42", "other-org/other-repo#42")]
    [InlineData("fixes https://ghe.example.com/other-org/other-repo/issues/42", "other-org/other-repo#42")]
    [InlineData("fixes http://localhost:3000/other-org/other-repo/issues/42", "other-org/other-repo#42")]
    [InlineData("Closes: https://github.com/octo-org/octo-repo/issues/9", "octo-org/octo-repo#9")]
    [InlineData("fixes https://github.com/o/r/issues/5#issuecomment-123", "o/r#5")]
    [InlineData("fixes https://github.com/o/r/issues/5.", "o/r#5")]
    // Own repository in another spelling resolves to the PR's repository; duplicates go, order stays.
    [InlineData("fixes OCTO-ORG/Octo-Repo#10", "octo-org/octo-repo#10")]
    [InlineData("fixes #2, fixes #1, closes #2, resolves octo-org/octo-repo#1", "octo-org/octo-repo#2 octo-org/octo-repo#1")]
    [InlineData("fixes A/B#1 and fixes a/b#1", "A/B#1")]
    [InlineData("fixes #1 fixes other/repo#1", "octo-org/octo-repo#1 other/repo#1")]
    // Surrounding punctuation and positions.
    [InlineData("This PR (fixes #12).", "octo-org/octo-repo#12")]
    [InlineData("- Closes #3\n- Closes #4", "octo-org/octo-repo#3 octo-org/octo-repo#4")]
    [InlineData("Summary\r\n\r\nFixes #8\r\n", "octo-org/octo-repo#8")]
    [InlineData("> fixes #6", "octo-org/octo-repo#6")]
    [InlineData("fixes #2147483647", "octo-org/octo-repo#2147483647")]
    // Negatives.
    [InlineData(null, "")]
    [InlineData("", "")]
    [InlineData("See #10", "")] // a bare reference without a keyword
    [InlineData("#10", "")]
    [InlineData("prefixes #3", "")] // keyword glued to a word
    [InlineData("unfixed #3", "")]
    [InlineData("autoclose #3", "")]
    [InlineData("fix_ #3", "")]
    [InlineData("fixesx #3", "")]
    [InlineData("fixes#3", "")] // no space between keyword and reference
    [InlineData("fixes #12abc", "")] // the number runs on into letters
    [InlineData("fixes #12_", "")]
    [InlineData("fixes #0", "")]
    [InlineData("fixes #012", "")]
    [InlineData("fixes #99999999999", "")] // beyond int
    [InlineData("fixes issue #3", "")]
    [InlineData("fixes\n#3", "")] // the reference must be on the keyword's line
    [InlineData("fixes #1, #2", "octo-org/octo-repo#1")] // each reference needs its own keyword
    [InlineData("fixes octo-org#3", "")]
    [InlineData("fixes https://github.com/o/r/pull/5", "")]
    [InlineData("fixes https://github.com/o/r/issues/5abc", "")]
    [InlineData("fixes `x` #3", "")]
    // Code and comments.
    [InlineData("Use `fixes #3` to link.", "")]
    [InlineData("Use ``fixes #3 with a ` inside`` to link.", "")]
    [InlineData("```\nfixes #3\n```\nfixes #4", "octo-org/octo-repo#4")]
    [InlineData("```md\nfixes #3\n```", "")]
    [InlineData("~~~\nfixes #3\n~~~", "")]
    [InlineData("````\n```\nfixes #3\n```\n````\nfixes #4", "octo-org/octo-repo#4")]
    [InlineData("- item\n  ```\n  fixes #3\n  ```", "")]
    [InlineData("> ```\n> fixes #3\n> ```", "")]
    [InlineData("```\nfixes #3 (never closed)", "")]
    [InlineData("<!-- Write \"Fixes #123\" to link an issue -->\nFixes #5", "octo-org/octo-repo#5")]
    [InlineData("<!-- fixes #3", "")]
    [InlineData("a ` lone backtick, fixes #3", "octo-org/octo-repo#3")]
    [InlineData("a `span\n\nfixes #3 ` after a blank line", "octo-org/octo-repo#3")] // code spans stop at a blank line
    [InlineData("\\`fixes #3\\`", "octo-org/octo-repo#3")] // escaped backticks open no span
    public void Parses_closing_keywords_like_GitHub(string? body, string expected)
    {
        var actual = ClosingKeywords.Parse(body, PrRepo);

        Assert.Equal(expected, string.Join(' ', actual.Select(r => $"{r.Repo.Owner}/{r.Repo.Name}#{r.Number}")));
    }

    [Fact]
    public void Same_repository_references_reuse_the_pull_request_repo_instance()
    {
        var refs = ClosingKeywords.Parse("fixes #1\ncloses OCTO-ORG/OCTO-REPO#2", PrRepo);

        Assert.All(refs, r => Assert.Same(PrRepo, r.Repo));
        Assert.Equal([new IssueReference(PrRepo, 1), new IssueReference(PrRepo, 2)], refs);
    }

    [Fact]
    public void Null_repo_is_refused()
    {
        Assert.Throws<ArgumentNullException>(() => ClosingKeywords.Parse("fixes #1", null!));
    }

    [Fact]
    public void A_long_hostile_body_parses_correctly()
    {
        // Long space runs after keywords, and many unmatched backtick runs of different lengths.
        var spaces = string.Concat(Enumerable.Repeat("fixes " + new string(' ', 1000) + "x ", 500));
        var backticks = string.Concat(Enumerable.Range(1, 400).Select(n => new string('`', n) + " fixes #" + n + " "));
        var body = spaces + backticks;

        var refs = ClosingKeywords.Parse(body, PrRepo);

        // No backtick run has a partner of the same length, so all of them are literal text.
        Assert.Equal(Enumerable.Range(1, 400), refs.Select(r => r.Number));
    }
}
