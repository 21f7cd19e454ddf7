using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Platform;

namespace Orchestrator.Tests.Integration.Asana;

/// <summary>The webhook protocol: handshake during the create call, signatures, heartbeats, events, dedupe keys.</summary>
public sealed partial class AsanaWebhookProtocolTests
{
    // GENERATED with CPython 3.11.7 (see Fixtures/asana/PROVENANCE.md).
    private const string LegacySignature = "e2b5cd145e63e4c3d83b46d34fa78ec37dc2f89f9c8f86985f36ef88954b5a9b";
    private const string HeartbeatSignature = "4a0b83a7279f912709efe090780bca77ad724c53d1296ee7dc9973e6a919d242";

    private static byte[] Fixture(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "asana", name));

    private static string DocumentedSecret() =>
        SecretPattern().Match(Encoding.UTF8.GetString(Fixture("handshake.verbatim.txt"))).Groups[1].Value;

    [Fact]
    public async Task The_webhook_is_created_only_after_the_receiver_echoed_the_secret_during_the_create_call()
    {
        await using var kit = await AsanaTestKit.StartAsync();
        await using var receiver = await AsanaReceiver.StartAsync();
        Task<AsanaCreatedWebhook>? create = null;
        (bool CallCompleted, int Webhooks)? atHandshake = null;
        receiver.OnHandshake = () => atHandshake = (create?.IsCompleted ?? false, kit.Simulator.Webhooks.Count);

        create = kit.Client.CreateWebhookAsync(kit.ProjectGid, receiver.Url, null, CancellationToken.None);
        var created = await create;

        Assert.Equal((false, 0), atHandshake);
        var handshake = Assert.Single(kit.Simulator.Handshakes);
        Assert.Equal(receiver.Url, handshake.Target);
        Assert.Equal(HttpStatusCode.OK, handshake.Answer);
        Assert.True(handshake.Accepted);
        Assert.Matches("^[0-9a-f]{64}$", handshake.Secret);
        Assert.Equal(handshake.Secret, receiver.Secret);
        Assert.Equal(handshake.Secret, created.HookSecret);
        Assert.Equal(handshake.Secret, Assert.Single(kit.Simulator.Webhooks).Secret);
        Assert.Empty(receiver.Deliveries); // the handshake is not a delivery
        Assert.Empty(kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task A_receiver_that_does_not_echo_the_secret_makes_the_create_call_fail()
    {
        await using var kit = await AsanaTestKit.StartAsync();
        await using var receiver = await AsanaReceiver.StartAsync();
        receiver.Echo = false;

        var error = await Assert.ThrowsAsync<PlatformApiException>(() =>
            kit.Client.CreateWebhookAsync(kit.ProjectGid, receiver.Url, null, CancellationToken.None));

        Assert.Equal((HttpStatusCode.BadRequest, false), (error.StatusCode!.Value, error.IsTransient));
        Assert.Contains("X-Hook-Secret", error.Message);
        Assert.False(Assert.Single(kit.Simulator.Handshakes).Accepted);
        Assert.Empty(kit.Simulator.Webhooks);
    }

    [Fact]
    public async Task An_unreachable_target_makes_the_create_call_fail()
    {
        await using var kit = await AsanaTestKit.StartAsync();
        var receiver = await AsanaReceiver.StartAsync();
        var url = receiver.Url;
        await receiver.DisposeAsync();

        await Assert.ThrowsAsync<PlatformApiException>(() => kit.Client.CreateWebhookAsync(kit.ProjectGid, url, null, CancellationToken.None));

        Assert.Null(Assert.Single(kit.Simulator.Handshakes).Answer);
        Assert.Empty(kit.Simulator.Webhooks);
    }

    [Fact]
    public void Handshake_detection_needs_a_non_blank_header()
    {
        Assert.True(AsanaWebhooks.TryGetHandshakeSecret(DocumentedSecret(), out var secret));
        Assert.Equal("b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81", secret);
        Assert.False(AsanaWebhooks.TryGetHandshakeSecret(null, out _));
        Assert.False(AsanaWebhooks.TryGetHandshakeSecret("  ", out _));
    }

    [Fact]
    public void Signatures_verify_against_generated_vectors_and_fail_closed()
    {
        var secret = DocumentedSecret();
        var legacy = Fixture("legacy-docs.webhook-events.verbatim.json");
        var heartbeat = Fixture("heartbeat.json");

        Assert.Equal(LegacySignature, AsanaWebhooks.ComputeSignature(legacy, secret));
        Assert.True(AsanaWebhooks.VerifySignature(legacy, LegacySignature, secret));
        Assert.True(AsanaWebhooks.VerifySignature(legacy, LegacySignature.ToUpperInvariant(), secret));
        Assert.True(AsanaWebhooks.VerifySignature(heartbeat, HeartbeatSignature, secret));

        var tampered = (byte[])legacy.Clone();
        tampered[Array.IndexOf(tampered, (byte)'7')] = (byte)'8'; // "1337" → "1338"
        Assert.False(AsanaWebhooks.VerifySignature(tampered, LegacySignature, secret));
        Assert.False(AsanaWebhooks.VerifySignature(legacy, LegacySignature, secret + "x"));
        Assert.False(AsanaWebhooks.VerifySignature(legacy, null, secret));
        Assert.False(AsanaWebhooks.VerifySignature(legacy, LegacySignature, null));
        Assert.False(AsanaWebhooks.VerifySignature(legacy, "sha256=" + LegacySignature, secret));
    }

    [Fact]
    public void The_heartbeat_is_an_empty_events_list()
    {
        var events = AsanaWebhooks.ParseEvents(Fixture("heartbeat.json"));

        Assert.Empty(events);
        Assert.True(AsanaWebhooks.IsHeartbeat(events));
        Assert.False(AsanaWebhooks.IsHeartbeat(AsanaWebhooks.ParseEvents(Fixture("legacy-docs.webhook-events.verbatim.json"))));
        Assert.Throws<FormatException>(() => AsanaWebhooks.ParseEvents("""{"data":[]}"""u8));
        Assert.Throws<FormatException>(() => AsanaWebhooks.ParseEvents("not json"u8));
    }

    [Fact]
    public void The_legacy_docs_event_parses()
    {
        var e = Assert.Single(AsanaWebhooks.ParseEvents(Fixture("legacy-docs.webhook-events.verbatim.json")));

        Assert.Equal(new AsanaEvent("changed", new AsanaResourceRef("1337", "task", "default_task"), null, null, "1123", "2013-08-21T18:20:37.972Z"), e);
        Assert.Equal("1337", e.TaskGid);
    }

    [Fact]
    public void Dedupe_keys_are_stable_and_distinct()
    {
        var body = Fixture("legacy-docs.webhook-events.verbatim.json");
        var a = AsanaWebhooks.ParseEvents(body).Single();
        var again = AsanaWebhooks.ParseEvents(body).Single();
        var task = new AsanaResourceRef("1337", "task", "default_task");
        AsanaEvent[] variants =
        [
            a with { Action = "added" },
            a with { Resource = task with { Gid = "1338" } },
            a with { Parent = new AsanaResourceRef("9", "project", null) },
            a with { CreatedAt = "2013-08-21T18:20:37.973Z" },
            a with { Change = new AsanaEventChange("completed", "changed", null, null, null, null) },
            a with { Change = new AsanaEventChange("name", "changed", null, null, null, null) },
            a with { Change = new AsanaEventChange("tags", "added", null, null, new AsanaResourceRef("5", "tag", null), null) },
            a with { Change = new AsanaEventChange("tags", "added", null, null, new AsanaResourceRef("6", "tag", null), null) },
            a with { Change = new AsanaEventChange("custom_fields", "changed", new AsanaResourceRef("7", "custom_field", "enum"), new AsanaResourceRef("8", "enum_option", null), null, null) },
            a with { Change = new AsanaEventChange("custom_fields", "changed", new AsanaResourceRef("7", "custom_field", "enum"), new AsanaResourceRef("9", "enum_option", null), null, null) },
            a with { Resource = task with { Gid = "13" }, Parent = new AsanaResourceRef("37", null, null) },
            a with { Resource = task with { Gid = "133" }, Parent = new AsanaResourceRef("7", null, null) },
        ];

        Assert.Equal(a.DedupeKey, again.DedupeKey);
        Assert.Matches("^asana:[0-9a-f]{64}$", a.DedupeKey);
        var keys = variants.Select(v => v.DedupeKey).Append(a.DedupeKey).ToList();
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Fact]
    public async Task Changes_made_as_a_person_arrive_as_signed_compact_events()
    {
        await using var kit = await AsanaTestKit.StartAsync();
        await using var receiver = await AsanaReceiver.StartAsync();
        await kit.Client.CreateWebhookAsync(kit.ProjectGid, receiver.Url, null, CancellationToken.None);
        var task = kit.Simulator.CreateTask(kit.ProjectGid, "x", "", kit.Agent);
        var option = kit.Agent.Option("opencode");

        await kit.Simulator.SetEnumCustomFieldAsync(task.Gid, kit.Agent.Gid, option.Gid);
        await kit.Simulator.AddTagAsync(task.Gid, "autotask");
        await kit.Simulator.RemoveTagAsync(task.Gid, "autotask");
        await kit.Simulator.CompleteAsync(task.Gid);
        await kit.Simulator.EditAsync(task.Gid, "y", "new notes");
        await kit.Simulator.CommentAsync(task.Gid, "hello");
        await kit.Simulator.SendHeartbeatAsync();
        await receiver.WaitForAsync(7);

        var parsed = receiver.Deliveries.Select(d =>
        {
            Assert.True(AsanaWebhooks.VerifySignature(d.Body, d.Headers[AsanaWebhooks.SignatureHeader], receiver.Secret));
            return AsanaWebhooks.ParseEvents(d.Body);
        }).ToList();
        var tag = kit.Simulator.EnsureTag("autotask");

        var enumChange = Assert.Single(parsed[0]);
        Assert.Equal(("changed", task.Gid, kit.Simulator.HumanUserGid), (enumChange.Action, enumChange.TaskGid, enumChange.UserGid));
        Assert.Equal(new AsanaEventChange("custom_fields", "changed", new AsanaResourceRef(kit.Agent.Gid, "custom_field", "enum"), new AsanaResourceRef(option.Gid, "enum_option", null), null, null), enumChange.Change);
        Assert.Equal(new AsanaEventChange("tags", "added", null, null, new AsanaResourceRef(tag, "tag", null), null), Assert.Single(parsed[1]).Change);
        Assert.Equal(new AsanaEventChange("tags", "removed", null, null, null, new AsanaResourceRef(tag, "tag", null)), Assert.Single(parsed[2]).Change);
        Assert.Equal("completed", Assert.Single(parsed[3]).Change!.Field);
        Assert.Equal(["name", "notes"], parsed[4].Select(e => e.Change!.Field));
        var comment = Assert.Single(parsed[5]);
        Assert.Equal(("added", "story", "comment_added", task.Gid), (comment.Action, comment.Resource.ResourceType, comment.Resource.ResourceSubtype, comment.TaskGid));
        Assert.True(AsanaWebhooks.IsHeartbeat(parsed[6]));
        Assert.Equal(7, kit.Simulator.Deliveries.Count);
        Assert.All(kit.Simulator.Deliveries, d => Assert.Equal(HttpStatusCode.OK, d.Answer));
        Assert.Empty(kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task A_dropped_event_can_be_sent_later_and_a_resend_has_the_same_dedupe_key()
    {
        await using var kit = await AsanaTestKit.StartAsync();
        await using var receiver = await AsanaReceiver.StartAsync();
        await kit.Client.CreateWebhookAsync(kit.ProjectGid, receiver.Url, null, CancellationToken.None);
        var task = kit.Simulator.CreateTask(kit.ProjectGid, "x");

        var dropped = Assert.Single(await kit.Simulator.CompleteAsync(task.Gid, deliver: false));
        Assert.Null(dropped.Answer);
        Assert.Empty(kit.Simulator.Deliveries);
        Assert.True(kit.Simulator.GetTask(task.Gid).Completed);

        await kit.Simulator.ResendAsync(dropped);
        await kit.Simulator.ResendAsync(dropped);
        await receiver.WaitForAsync(2);

        var bodies = receiver.Deliveries.Select(d => d.Body).ToList();
        Assert.Equal(dropped.Body, bodies[0]);
        Assert.Equal(bodies[0], bodies[1]);
        Assert.Equal(
            AsanaWebhooks.ParseEvents(bodies[0]).Single().DedupeKey,
            AsanaWebhooks.ParseEvents(bodies[1]).Single().DedupeKey);
    }

    [Fact]
    public async Task Filters_limit_what_is_delivered()
    {
        await using var kit = await AsanaTestKit.StartAsync();
        await using var receiver = await AsanaReceiver.StartAsync();
        await kit.Client.CreateWebhookAsync(kit.ProjectGid, receiver.Url, [new AsanaWebhookFilter("task", Action: "changed", Fields: ["completed"])], CancellationToken.None);
        var task = kit.Simulator.CreateTask(kit.ProjectGid, "x");

        Assert.Empty(await kit.Simulator.AddTagAsync(task.Gid, "t"));
        Assert.Single(await kit.Simulator.CompleteAsync(task.Gid));
    }

    [GeneratedRegex("X-Hook-Secret: ([0-9a-f]{64})")]
    private static partial Regex SecretPattern();
}
