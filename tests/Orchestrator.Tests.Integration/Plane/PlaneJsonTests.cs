using System.Text.Json;
using Orchestrator.Shared.Plane;

namespace Orchestrator.Tests.Integration.Plane;

/// <summary>PlaneJson on shapes the simulator does not produce but Plane can.</summary>
public sealed class PlaneJsonTests
{
    [Fact]
    public void Timestamps_in_the_token_owners_time_zone_keep_their_offset()
    {
        // TimezoneMixin activates user_timezone, so DRF renders e.g. +05:30 instead of Z.
        using var doc = JsonDocument.Parse("""
            {"id": "33333333-3333-4333-8333-333333333333", "sequence_id": 7, "name": null,
             "created_at": "2026-05-19T15:30:00.123456+05:30", "labels": [], "state": null,
             "project": "22222222-2222-4222-8222-222222222222"}
            """);

        var item = PlaneJson.ParseWorkItem(doc.RootElement, "fallback");

        Assert.Equal(new DateTimeOffset(2026, 5, 19, 10, 0, 0, TimeSpan.Zero).AddTicks(1234560), item.CreatedAt);
        Assert.Null(item.State);
        Assert.Null(item.Name);
        Assert.Equal("22222222-2222-4222-8222-222222222222", item.ProjectId);
    }

    [Fact]
    public void Expanded_project_and_missing_project_are_handled()
    {
        using var expanded = JsonDocument.Parse("""{"id": "a", "sequence_id": 1, "project": {"id": "p-1", "identifier": "P"}}""");
        using var missing = JsonDocument.Parse("""{"id": "a", "sequence_id": 1}""");

        Assert.Equal("p-1", PlaneJson.ParseWorkItem(expanded.RootElement, "fallback").ProjectId);
        Assert.Equal("fallback", PlaneJson.ParseWorkItem(missing.RootElement, "fallback").ProjectId);
        Assert.Empty(PlaneJson.ParseWorkItem(missing.RootElement, "fallback").Labels);
    }

    [Theory]
    [InlineData("""{"sequence_id": 1}""")]
    [InlineData("""{"id": "a"}""")]
    [InlineData("""{"id": "a", "sequence_id": 1, "labels": [42]}""")]
    [InlineData("""{"id": "a", "sequence_id": 1, "labels": "x"}""")]
    [InlineData("""{"id": "a", "sequence_id": 1, "state": 3}""")]
    [InlineData("""[]""")]
    public void Malformed_work_items_are_rejected(string json)
    {
        using var doc = JsonDocument.Parse(json);

        Assert.Throws<FormatException>(() => PlaneJson.ParseWorkItem(doc.RootElement, "p"));
    }

    [Fact]
    public void Comment_without_html_reads_as_empty()
    {
        using var doc = JsonDocument.Parse("""{"id": "c", "comment_html": null, "external_source": null, "external_id": null}""");

        Assert.Equal(new PlaneComment("c", "", null, null), PlaneJson.ParseComment(doc.RootElement));
    }
}
