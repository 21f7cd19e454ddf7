using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Simulators;
using Orchestrator.Simulators.Plane;

namespace Orchestrator.Tests.Integration.Plane;

/// <summary>The simulator's webhooks: Plane's bytes, headers and signature.</summary>
public sealed class PlaneWebhookTests : IAsyncLifetime
{
    private const string Secret = "plane_wh_0123456789abcdef0123456789abcdef";
    private PlaneTestKit _kit = null!;
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _kit = await PlaneTestKit.StartAsync();
        _receiver = await WebhookReceiver.StartAsync();
        _kit.Simulator.ConfigureWebhook(_receiver.Url, Secret);
    }

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        await _kit.DisposeAsync();
    }

    [Fact]
    public void Planes_signed_test_vector_reproduces_byte_for_byte()
    {
        var template = JsonNode.Parse(File.ReadAllText(TestJson.FixturePath("issue.created.json")));
        var expectedBody = File.ReadAllBytes(TestJson.FixturePath("issue.created.signed-body.json"));
        var headers = TestJson.Object(File.ReadAllText(TestJson.FixturePath("issue.created.signed-headers.json")));

        var body = Encoding.UTF8.GetBytes(PythonJson.DumpsDefault(template));

        Assert.Equal(Encoding.UTF8.GetString(expectedBody), Encoding.UTF8.GetString(body));
        Assert.Equal(expectedBody, body);
        Assert.Equal(
            headers["X-Plane-Signature"]!.GetValue<string>(),
            SimulatorHost.HmacHex(headers["_test_secret"]!.GetValue<string>(), body));
    }

    [Fact]
    public void PythonJson_matches_CPython_vectors()
    {
        var vectors = TestJson.Object(File.ReadAllText(TestJson.FixturePath("python-json-dumps-vectors.json")));

        foreach (var vector in vectors["vectors"]!.AsArray())
        {
            var input = JsonNode.Parse(vector!["input"]!.GetValue<string>());
            Assert.Equal(vector["python_default"]!.GetValue<string>(), PythonJson.DumpsDefault(input));
            Assert.Equal(vector["drf_compact"]!.GetValue<string>(), PythonJson.DumpsCompact(input));
        }

        foreach (var pair in vectors["float_repr"]!.AsArray())
        {
            var value = pair![0]!.GetValue<double>();
            Assert.Equal(pair[1]!.GetValue<string>(), PythonJson.FloatRepr(value));
            Assert.Equal(pair[1]!.GetValue<string>(), PythonJson.DumpsDefault(JsonValue.Create(value)));
        }
    }

    [Fact]
    public async Task Created_delivery_is_signed_over_the_exact_bytes_with_Planes_headers()
    {
        var (item, delivery, status) = await _kit.Simulator.CreateWorkItemAsync(
            _kit.Project.Id, "Add a health endpoint ✓", "<p>Please add <code>GET /healthz</code></p>", ["agent:opencode"]);

        Assert.Equal(HttpStatusCode.OK, status);
        var (body, headers) = Assert.Single(_receiver.Received);
        Assert.Equal(delivery!.Body, body);
        Assert.True(VerifySignature(body, headers["X-Plane-Signature"]));
        Assert.Equal("application/json", headers["Content-Type"]);
        Assert.Equal("Autopilot", headers["User-Agent"]);
        Assert.Equal("issue", headers["X-Plane-Event"]);
        Assert.Equal(delivery.DeliveryId, headers["X-Plane-Delivery"]);
        Assert.True(Guid.TryParse(delivery.DeliveryId, out _));
        Assert.Equal(delivery.Headers["X-Plane-Signature"], headers["X-Plane-Signature"]);

        var text = Encoding.UTF8.GetString(body);
        Assert.Contains("\\u2713", text); // ensure_ascii, as json.dumps
        Assert.Equal(text, PythonJson.DumpsDefault(JsonNode.Parse(text)));
        var payload = TestJson.Object(text);
        Assert.Equal(
            ["event", "action", "webhook_id", "workspace_id", "data", "activity"],
            payload.Select(p => p.Key));
        Assert.Equal(("issue", "created"), (payload["event"]!.GetValue<string>(), payload["action"]!.GetValue<string>()));
        Assert.Equal(_kit.Simulator.WebhookId, payload["webhook_id"]!.GetValue<string>());
        Assert.Equal(_kit.Simulator.WorkspaceId, payload["workspace_id"]!.GetValue<string>());
        var data = payload["data"]!.AsObject();
        var template = TestJson.Object(File.ReadAllText(TestJson.FixturePath("issue.created.json")))["data"]!.AsObject();
        Assert.Equal(template.Select(p => p.Key), data.Select(p => p.Key));
        Assert.Equal(item.Id, data["id"]!.GetValue<string>());
        Assert.Equal("Add a health endpoint ✓", data["name"]!.GetValue<string>());
        Assert.Equal("Please add GET /healthz", data["description_stripped"]!.GetValue<string>());
        Assert.Equal(1, data["sequence_id"]!.GetValue<int>());
        Assert.Equal(_kit.Project.Id, data["project"]!.GetValue<string>());
        var label = data["labels"]![0]!.AsObject();
        Assert.Equal(["id", "name", "color"], label.Select(p => p.Key));
        Assert.Equal((_kit.Simulator.EnsureLabel(_kit.Project.Id, "agent:opencode"), "agent:opencode"), (label["id"]!.GetValue<string>(), label["name"]!.GetValue<string>()));
        Assert.True(JsonNode.DeepEquals(
            new JsonObject { ["id"] = item.StateId, ["name"] = "Backlog", ["color"] = "#60646C", ["group"] = "backlog" },
            data["state"]));
        Assert.Null(payload["activity"]!["field"]);
    }

    [Fact]
    public async Task Label_description_state_and_delete_changes_send_one_delivery_each()
    {
        var (item, _, _) = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "x", "<p>old</p>", ["backend"]);
        var backend = _kit.Simulator.EnsureLabel(_kit.Project.Id, "backend");

        await _kit.Simulator.AddLabelAsync(item.Id, "agent:claude");
        await _kit.Simulator.UpdateDescriptionAsync(item.Id, "<p>new</p>");
        await _kit.Simulator.MoveToStateAsync(item.Id, "Cancelled");
        await _kit.Simulator.DeleteWorkItemAsync(item.Id);

        var claude = _kit.Simulator.EnsureLabel(_kit.Project.Id, "agent:claude");
        var payloads = _receiver.Received.Select(r => TestJson.Object(Encoding.UTF8.GetString(r.Body))).ToList();
        Assert.Equal(5, payloads.Count);
        Assert.All(_receiver.Received, r => Assert.True(VerifySignature(r.Body, r.Headers["X-Plane-Signature"])));
        Assert.Equal(5, _receiver.Received.Select(r => r.Headers["X-Plane-Delivery"]).Distinct().Count());

        var label = payloads[1];
        Assert.Equal(("updated", "label_ids"), (label["action"]!.GetValue<string>(), label["activity"]!["field"]!.GetValue<string>()));
        Assert.True(JsonNode.DeepEquals(new JsonArray(backend, claude), label["activity"]!["new_value"]));
        Assert.True(JsonNode.DeepEquals(new JsonArray(backend), label["activity"]!["old_value"]));
        Assert.Equal(["backend", "agent:claude"], label["data"]!["labels"]!.AsArray().Select(l => l!["name"]!.GetValue<string>()));

        var description = payloads[2];
        Assert.Equal("description_html", description["activity"]!["field"]!.GetValue<string>());
        Assert.Equal(("<p>new</p>", "<p>old</p>"), (description["activity"]!["new_value"]!.GetValue<string>(), description["activity"]!["old_value"]!.GetValue<string>()));
        Assert.Equal("<p>new</p>", description["data"]!["description_html"]!.GetValue<string>());

        var state = payloads[3];
        var cancelled = _kit.Simulator.State(_kit.Project.Id, "Cancelled");
        Assert.Equal(("state_id", cancelled.Id), (state["activity"]!["field"]!.GetValue<string>(), state["activity"]!["new_value"]!.GetValue<string>()));
        Assert.Equal("cancelled", state["data"]!["state"]!["group"]!.GetValue<string>());

        var deleted = payloads[4];
        Assert.Equal("deleted", deleted["action"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["id"] = item.Id }, deleted["data"]));
        Assert.Equal(5, _kit.Simulator.Deliveries.Count);
    }

    [Fact]
    public async Task Deliver_false_changes_state_but_sends_nothing()
    {
        var (item, delivery, status) = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "x", "", [], deliver: false);
        var (labelDelivery, labelStatus) = await _kit.Simulator.AddLabelAsync(item.Id, "agent:opencode", deliver: false);

        Assert.Null(delivery);
        Assert.Null(status);
        Assert.Null(labelDelivery);
        Assert.Null(labelStatus);
        Assert.Equal([_kit.Simulator.EnsureLabel(_kit.Project.Id, "agent:opencode")], _kit.Simulator.WorkItem(item.Id).LabelIds);
        Assert.Empty(_kit.Simulator.Deliveries);
        Assert.Empty(_receiver.Received);
        Assert.Empty(_receiver.Host.Requests);
    }

    [Fact]
    public async Task Resend_repeats_the_bytes_with_a_new_or_the_same_delivery_id()
    {
        _receiver.Answer = HttpStatusCode.InternalServerError;
        var (_, delivery, status) = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "x", "", []);
        _receiver.Answer = HttpStatusCode.Accepted;

        var retried = await _kit.Simulator.ResendAsync(delivery!, newDeliveryId: true);
        var duplicated = await _kit.Simulator.ResendAsync(delivery!, newDeliveryId: false);

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal(HttpStatusCode.Accepted, retried);
        Assert.Equal(HttpStatusCode.Accepted, duplicated);
        var received = _receiver.Received;
        Assert.Equal(3, received.Count);
        Assert.All(received, r => Assert.Equal(delivery!.Body, r.Body));
        Assert.All(received, r => Assert.Equal(delivery!.Headers["X-Plane-Signature"], r.Headers["X-Plane-Signature"]));
        Assert.NotEqual(delivery!.DeliveryId, received[1].Headers["X-Plane-Delivery"]);
        Assert.Equal(delivery.DeliveryId, received[2].Headers["X-Plane-Delivery"]);
        Assert.Equal(3, _kit.Simulator.Deliveries.Count);
    }

    [Fact]
    public async Task A_tampered_body_does_not_verify()
    {
        var (_, delivery, _) = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "x", "", []);
        var tampered = (byte[])delivery!.Body.Clone();
        tampered[^2] ^= 0x01;

        Assert.True(VerifySignature(delivery.Body, delivery.Headers["X-Plane-Signature"]));
        Assert.False(VerifySignature(tampered, delivery.Headers["X-Plane-Signature"]));
    }

    [Fact]
    public async Task Delivering_without_a_configured_webhook_fails_loudly()
    {
        await using var kit = await PlaneTestKit.StartAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            kit.Simulator.CreateWorkItemAsync(kit.Project.Id, "x", "", []));
    }

    private static bool VerifySignature(byte[] body, string signatureHex)
    {
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), body);
        byte[] given;
        try
        {
            given = Convert.FromHexString(signatureHex);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(expected, given);
    }
}
