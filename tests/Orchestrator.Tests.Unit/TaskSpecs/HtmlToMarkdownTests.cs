using Orchestrator.Shared.TaskSpecs;

namespace Orchestrator.Tests.Unit.TaskSpecs;

public sealed class HtmlToMarkdownTests
{
    [Theory]
    [InlineData(null, "")]
    [InlineData("", "")]
    [InlineData("   ", "")]
    [InlineData("<p></p>", "")] // Plane's empty editor
    [InlineData("<p> </p><p><br></p>", "")]
    [InlineData("<p>Please add GET /healthz</p>", "Please add GET /healthz")]
    [InlineData("plain text", "plain text")]
    [InlineData("<p>one</p><p>two</p>", "one\n\ntwo")]
    [InlineData("<div>one<p>two</p>three</div>", "one\n\ntwo\n\nthree")]
    public void Paragraphs(string? html, string expected) => AssertConverts(html, expected);

    [Theory]
    [InlineData("<p>  lots \n of\t\twhite   space  </p>", "lots of white space")]
    [InlineData("<p>a <b> b </b> c</p>", "a **b** c")]
    [InlineData("<p>a&nbsp;&nbsp;b</p>", "a b")]
    [InlineData("<p>\n  <span>x</span>\n  <span>y</span>\n</p>", "x y")]
    public void Whitespace_collapses_like_a_browser(string html, string expected) => AssertConverts(html, expected);

    [Theory]
    [InlineData("<p>line one<br>line two</p>", "line one\\\nline two")]
    [InlineData("<p>line one <br> line two<br></p>", "line one\\\nline two")]
    [InlineData("<p><br>start</p>", "start")]
    [InlineData("<p>a<br><br>b</p>", "a\\\n\\\nb")]
    public void Line_breaks_are_backslash_hard_breaks(string html, string expected) => AssertConverts(html, expected);

    [Theory]
    [InlineData("<h1>Title</h1>", "# Title")]
    [InlineData("<h2>Sub</h2>", "## Sub")]
    [InlineData("<h3>a</h3><h4>b</h4><h5>c</h5><h6>d</h6>", "### a\n\n#### b\n\n##### c\n\n###### d")]
    [InlineData("<h2>With <em>style</em></h2><p>body</p>", "## With *style*\n\nbody")]
    [InlineData("<h2>Step #</h2>", "## Step \\#")]
    [InlineData("<h2>C#</h2>", "## C#")]
    [InlineData("<h2></h2>", "")]
    [InlineData("<h2>a<br>b</h2>", "## a b")]
    public void Headings(string html, string expected) => AssertConverts(html, expected);

    [Theory]
    [InlineData("<p><strong>bold</strong> and <b>b</b></p>", "**bold** and **b**")]
    [InlineData("<p><em>it</em> and <i>i</i></p>", "*it* and *i*")]
    [InlineData("<p><s>gone</s> <del>del</del> <strike>old</strike></p>", "~~gone~~ ~~del~~ ~~old~~")]
    [InlineData("<p><strong><em>both</em></strong></p>", "***both***")]
    [InlineData("<p><strong>a <b>nested</b> b</strong></p>", "**a nested b**")]
    [InlineData("<p><strong> </strong>x</p>", "x")]
    [InlineData("<p>x<strong> padded </strong>y</p>", "x **padded** y")]
    [InlineData("<p><u>under</u> <mark>mark</mark> <span>span</span></p>", "under mark span")]
    public void Emphasis(string html, string expected) => AssertConverts(html, expected);

    [Theory]
    [InlineData("<p>Run <code>dotnet test</code></p>", "Run `dotnet test`")]
    [InlineData("<p><code>a*b_c</code></p>", "`a*b_c`")]
    [InlineData("<p><code>x`y</code></p>", "``x`y``")]
    [InlineData("<p><code>`tick</code></p>", "`` `tick ``")]
    [InlineData("<p>a<code> b </code>c</p>", "a `b` c")]
    [InlineData("<p><code></code>x</p>", "x")]
    public void Inline_code(string html, string expected) => AssertConverts(html, expected);

    [Theory]
    [InlineData("<pre><code>var x = 1;\nvar y = 2;</code></pre>", "```\nvar x = 1;\nvar y = 2;\n```")]
    [InlineData("<pre><code class=\"language-csharp\">var x = 1;</code></pre>", "```csharp\nvar x = 1;\n```")]
    [InlineData("<pre class=\"language-json\"><code>{}</code></pre>", "```json\n{}\n```")]
    [InlineData("<pre><code>  indented\n    more\n</code></pre>", "```\n  indented\n    more\n```")]
    [InlineData("<pre><code>*not* _escaped_ &lt;b&gt; # x</code></pre>", "```\n*not* _escaped_ <b> # x\n```")]
    [InlineData("<pre><code>```\ninner fence\n```</code></pre>", "````\n```\ninner fence\n```\n````")]
    [InlineData("<pre>a<br>b</pre>", "```\na\nb\n```")]
    [InlineData("<pre><code>  </code></pre>", "")]
    [InlineData("<p>before</p><pre><code class=\"language-bash\">echo hi</code></pre><p>after</p>", "before\n\n```bash\necho hi\n```\n\nafter")]
    public void Code_blocks(string html, string expected) => AssertConverts(html, expected);

    [Theory]
    [InlineData("<p><a href=\"https://example.com/docs\">the docs</a></p>", "[the docs](https://example.com/docs)")]
    [InlineData("<p><a href=\"https://example.com/docs\">https://example.com/docs</a></p>", "https://example.com/docs")]
    [InlineData("<p>See <a href=\"https://example.com\"> https://example.com </a>.</p>", "See https://example.com .")]
    [InlineData("<p><a href=\"https://example.com/a_b\">https://example.com/a_b</a></p>", "<https://example.com/a_b>")]
    [InlineData("<p><a href=\"https://example.com/a b(c)\">x</a></p>", "[x](https://example.com/a%20b%28c%29)")]
    [InlineData("<p><a href=\"/relative\">/relative</a></p>", "[/relative](/relative)")]
    [InlineData("<p><a href=\"mailto:ada@example.com\">ada@example.com</a></p>", "<ada@example.com>")]
    [InlineData("<p><a href=\"https://e.com\"><strong>bold</strong> link</a></p>", "[**bold** link](https://e.com)")]
    [InlineData("<p><a>no href</a></p>", "no href")]
    [InlineData("<p><a href=\"https://e.com\"></a></p>", "https://e.com")]
    [InlineData("<p><a href=\"https://e.com/x\"><img src=\"https://e.com/i.png\" alt=\"logo\"></a></p>", "[![logo](https://e.com/i.png)](https://e.com/x)")]
    public void Links(string html, string expected) => AssertConverts(html, expected);

    [Theory]
    [InlineData("<p><img src=\"https://e.com/a.png\" alt=\"A diagram\"></p>", "![A diagram](https://e.com/a.png)")]
    [InlineData("<img src=\"https://e.com/a.png\">", "![](https://e.com/a.png)")]
    [InlineData("<p><img src=\"https://e.com/a b.png\" alt=\"[x]\"></p>", "![\\[x\\]](https://e.com/a%20b.png)")]
    [InlineData("<p><img alt=\"only alt\"></p>", "only alt")]
    [InlineData("<image-component src=\"https://e.com/p.png\"></image-component>", "![](https://e.com/p.png)")]
    public void Images(string html, string expected) => AssertConverts(html, expected);

    [Theory]
    [InlineData("<ul><li>one</li><li>two</li></ul>", "- one\n- two")]
    [InlineData("<ol><li>one</li><li>two</li></ol>", "1. one\n2. two")]
    [InlineData("<ol start=\"3\"><li>three</li><li>four</li></ol>", "3. three\n4. four")]
    [InlineData("<ul><li><p>tiptap item</p></li><li><p>second</p></li></ul>", "- tiptap item\n- second")]
    [InlineData("<ul><li>a<ul><li>a.1<ul><li>a.1.i</li></ul></li></ul></li><li>b</li></ul>", "- a\n  - a.1\n    - a.1.i\n- b")]
    [InlineData("<ol><li><p>first</p><ul><li><p>nested</p></li></ul></li><li><p>second</p></li></ol>", "1. first\n   - nested\n2. second")]
    [InlineData("<ul><li><p>para one</p><p>para two</p></li></ul>", "- para one\n\n  para two")]
    [InlineData("<ul><li><p>code:</p><pre><code>x\ny</code></pre></li></ul>", "- code:\n\n  ```\n  x\n  y\n  ```")]
    [InlineData("<ul><li>a</li><ul><li>legacy nested</li></ul></ul>", "- a\n  - legacy nested")]
    [InlineData("<ul><li></li><li>x</li></ul>", "-\n- x")]
    [InlineData("<ul></ul>", "")]
    [InlineData("<p>intro</p><ul><li>x</li></ul><p>outro</p>", "intro\n\n- x\n\noutro")]
    public void Lists(string html, string expected) => AssertConverts(html, expected);

    [Theory]
    [InlineData(
        "<ul data-type=\"taskList\"><li data-checked=\"true\" data-type=\"taskItem\"><label><input type=\"checkbox\" checked=\"checked\"><span></span></label><div><p>done</p></div></li>"
        + "<li data-checked=\"false\" data-type=\"taskItem\"><label><input type=\"checkbox\"><span></span></label><div><p>todo</p></div></li></ul>",
        "- [x] done\n- [ ] todo")]
    [InlineData("<ul data-type=\"taskList\"><li data-checked=\"false\"><p>outer</p><ul data-type=\"taskList\"><li data-checked=\"true\"><p>inner</p></li></ul></li></ul>", "- [ ] outer\n  - [x] inner")]
    [InlineData("<ul><li><input type=\"checkbox\" checked disabled> gfm done</li><li><input type=\"checkbox\" disabled> gfm todo</li></ul>", "- [x] gfm done\n- [ ] gfm todo")]
    public void Task_lists(string html, string expected) => AssertConverts(html, expected);

    [Theory]
    [InlineData("<blockquote><p>quoted</p></blockquote>", "> quoted")]
    [InlineData("<blockquote><p>one</p><p>two</p></blockquote>", "> one\n>\n> two")]
    [InlineData("<blockquote><blockquote><p>deep</p></blockquote></blockquote>", "> > deep")]
    [InlineData("<p>above</p><hr><p>below</p>", "above\n\n---\n\nbelow")]
    public void Blockquotes_and_rules(string html, string expected) => AssertConverts(html, expected);

    [Theory]
    [InlineData(
        "<table><thead><tr><th>Name</th><th>Value</th></tr></thead><tbody><tr><td>a</td><td>1</td></tr><tr><td>b</td><td>2</td></tr></tbody></table>",
        "| Name | Value |\n|---|---|\n| a | 1 |\n| b | 2 |")]
    [InlineData(
        "<table><tbody><tr><td><p>Key</p></td><td><p>Val</p></td></tr><tr><td><p>x | y</p></td><td><p><code>a|b</code></p></td></tr></tbody></table>",
        "| Key | Val |\n|---|---|\n| x \\| y | `a\\|b` |")]
    [InlineData("<table><tr><td colspan=\"2\">wide</td></tr><tr><td>l</td><td>r</td></tr></table>", "| wide |  |\n|---|---|\n| l | r |")]
    [InlineData("<table><tr><td>a</td><td>b</td></tr><tr><td>only</td></tr></table>", "| a | b |\n|---|---|\n| only |  |")]
    [InlineData("<table><tr><td><p>two</p><p>paras</p></td><td>line<br>break</td></tr></table>", "| two<br>paras | line<br>break |\n|---|---|")]
    [InlineData("<table></table>", "")]
    public void Tables(string html, string expected) => AssertConverts(html, expected);

    [Theory]
    [InlineData("<p>Ping <mention-component entity_identifier=\"66666666-6666-4666-8666-666666666666\" entity_name=\"user_mention\" label=\"Ada Lovelace\"></mention-component> please</p>", "Ping Ada Lovelace please")]
    [InlineData("<p>Ping <mention-component entity_name=\"user_mention\">@ada</mention-component></p>", "Ping @ada")]
    [InlineData("<p>Ping <mention-component id=\"m1\" entity_identifier=\"66666666-6666-4666-8666-666666666666\" entity_name=\"user_mention\"></mention-component>.</p>", "Ping `@66666666-6666-4666-8666-666666666666`.")]
    public void Plane_mentions(string html, string expected) => AssertConverts(html, expected);

    [Theory]
    [InlineData("<p><custom-thing>inner <b>text</b></custom-thing></p>", "inner **text**")]
    [InlineData("<section><article><p>deep</p></article></section>", "deep")]
    [InlineData("<p>keep</p><script>alert(1)</script><style>p{}</style>", "keep")]
    [InlineData("<p>a<!-- hidden -->b</p>", "ab")]
    [InlineData("<details><summary>More</summary><p>hidden text</p></details>", "More\n\nhidden text")]
    [InlineData("<p>unclosed <b>bold<p>next", "unclosed **bold**\n\n**next**")]
    public void Unknown_and_malformed_markup_gives_its_text(string html, string expected) => AssertConverts(html, expected);

    [Theory]
    [InlineData("<p>2 * 3 = 6</p>", "2 \\* 3 = 6")]
    [InlineData("<p>snake_case_name and _under_</p>", "snake_case_name and \\_under\\_")]
    [InlineData("<p>[link](x) and `tick` and ~strike~ and back\\slash</p>", "\\[link\\](x) and \\`tick\\` and \\~strike\\~ and back\\\\slash")]
    [InlineData("<p>&lt;div&gt; and a &lt; b</p>", "\\<div> and a < b")]
    [InlineData("<p>AT&amp;T &amp;amp; &amp;#35;</p>", "AT&T \\&amp; \\&#35;")]
    [InlineData("<p># not a heading</p>", "\\# not a heading")]
    [InlineData("<p>#hashtag</p>", "#hashtag")]
    [InlineData("<p>- not a list</p>", "\\- not a list")]
    [InlineData("<p>+ not a list</p>", "\\+ not a list")]
    [InlineData("<p>1. not a list</p>", "1\\. not a list")]
    [InlineData("<p>2024) not a list</p>", "2024\\) not a list")]
    [InlineData("<p>&gt; not a quote</p>", "\\> not a quote")]
    [InlineData("<p>---</p>", "\\---")]
    [InlineData("<p>Title<br>===</p>", "Title\\\n\\===")]
    [InlineData("<p>a<br>- b</p>", "a\\\n\\- b")]
    [InlineData("<p>x - y, 1. z, a # b, c &gt; d</p>", "x - y, 1. z, a # b, c > d")]
    [InlineData("<p><b>- </b>y</p>", "**-** y")]
    public void Markdown_syntax_in_text_is_escaped(string html, string expected) => AssertConverts(html, expected);

    [Fact]
    public void A_typical_Plane_description_converts_in_full()
    {
        const string html =
            "<h2>Goal</h2><p>Expose a <strong>health</strong> endpoint for the load balancer.</p>"
            + "<ul><li><p>Route: <code>GET /healthz</code></p></li><li><p>Returns <em>200</em> with <a href=\"https://example.com/spec\">this body</a></p></li></ul>"
            + "<pre><code class=\"language-json\">{\"status\": \"ok\"}</code></pre>"
            + "<ul data-type=\"taskList\"><li data-checked=\"false\" data-type=\"taskItem\"><label><input type=\"checkbox\"><span></span></label><div><p>Add test</p></div></li></ul>"
            + "<p></p>";

        const string expected =
            "## Goal\n\n"
            + "Expose a **health** endpoint for the load balancer.\n\n"
            + "- Route: `GET /healthz`\n"
            + "- Returns *200* with [this body](https://example.com/spec)\n\n"
            + "```json\n{\"status\": \"ok\"}\n```\n\n"
            + "- [ ] Add test";
        AssertConverts(html, expected);
    }

    [Fact]
    public void Output_has_no_trailing_spaces_and_no_carriage_returns()
    {
        const string html = "<p>a \r\n b <br> </p><pre><code>x   \r\ny</code></pre><blockquote><p>q</p><p></p><p>r </p></blockquote>";

        var markdown = HtmlToMarkdown.Convert(html);

        Assert.DoesNotContain('\r', markdown);
        Assert.All(markdown.Split('\n'), line => Assert.Equal(line.TrimEnd(), line));
        Assert.Equal(markdown.Trim(), markdown);
    }

    private static void AssertConverts(string? html, string expected) =>
        Assert.Equal(expected, HtmlToMarkdown.Convert(html));
}
