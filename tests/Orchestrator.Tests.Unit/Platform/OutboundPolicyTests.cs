using System.Net;
using Orchestrator.Shared.Platform;

namespace Orchestrator.Tests.Unit.Platform;

/// <summary>Issue #8 item 2: the outbound policy (SSRF guard), rule by rule.</summary>
public sealed class OutboundPolicyTests
{
    [Theory]
    [InlineData("8.8.8.8", AddressClass.External)]
    [InlineData("140.82.112.3", AddressClass.External)]
    [InlineData("2606:4700::1111", AddressClass.External)]
    [InlineData("127.0.0.1", AddressClass.Loopback)]
    [InlineData("127.255.0.9", AddressClass.Loopback)]
    [InlineData("::1", AddressClass.Loopback)]
    [InlineData("0.0.0.0", AddressClass.Loopback)]
    [InlineData("::", AddressClass.Loopback)]
    [InlineData("::ffff:127.0.0.1", AddressClass.Loopback)]
    [InlineData("64:ff9b::7f00:1", AddressClass.Loopback)]
    [InlineData("2002:7f00:1::", AddressClass.Loopback)]
    [InlineData("10.0.0.1", AddressClass.Private)]
    [InlineData("172.16.5.4", AddressClass.Private)]
    [InlineData("172.32.0.1", AddressClass.External)]
    [InlineData("192.168.1.1", AddressClass.Private)]
    [InlineData("100.64.0.1", AddressClass.Private)]
    [InlineData("fd12:3456::1", AddressClass.Private)]
    [InlineData("::ffff:10.1.2.3", AddressClass.Private)]
    [InlineData("169.254.1.1", AddressClass.LinkLocal)]
    [InlineData("fe80::1", AddressClass.LinkLocal)]
    [InlineData("169.254.169.254", AddressClass.Metadata)]
    [InlineData("::ffff:169.254.169.254", AddressClass.Metadata)]
    [InlineData("fd00:ec2::254", AddressClass.Metadata)]
    [InlineData("100.100.100.200", AddressClass.Metadata)]
    [InlineData("168.63.129.16", AddressClass.Metadata)]
    [InlineData("224.0.0.1", AddressClass.Reserved)]
    [InlineData("255.255.255.255", AddressClass.Reserved)]
    [InlineData("192.0.2.7", AddressClass.Reserved)]
    [InlineData("2001:db8::1", AddressClass.Reserved)]
    public void Addresses_are_classified_by_the_block_they_are_in(string address, AddressClass expected) =>
        Assert.Equal(expected, OutboundPolicy.Classify(IPAddress.Parse(address)));

    [Theory]
    [InlineData("169.254.169.254")]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    [InlineData("10.0.0.1")]
    [InlineData("192.168.0.10")]
    [InlineData("169.254.3.4")]
    public void The_default_list_allows_public_addresses_only(string address)
    {
        var policy = OutboundPolicy.Parse(null);
        Assert.Equal("external", policy.List);
        Assert.Null(policy.RefusalFor("api.example.com", 443, IPAddress.Parse("140.82.112.3")));
        var refusal = policy.RefusalFor(address, 443, IPAddress.Parse(address));
        Assert.NotNull(refusal);
        Assert.Contains(address, refusal);
    }

    [Fact]
    public void A_refusal_names_the_rule_and_how_to_allow_the_address()
    {
        var policy = OutboundPolicy.Parse("external");
        var refusal = policy.RefusalFor("plane.corp", 443, IPAddress.Parse("10.0.0.1"))!;
        Assert.Contains("plane.corp (10.0.0.1) is a private-network address", refusal);
        Assert.Contains("ORCH_OUTBOUND_ALLOWED_HOSTS=external", refusal);
        Assert.Contains("'private'", refusal);
    }

    [Theory]
    [InlineData("*")]
    [InlineData("loopback,private,external")]
    [InlineData("169.254.0.0/16")]
    [InlineData("169.254.169.254")]
    [InlineData("metadata.google.internal")]
    public void Metadata_endpoints_are_refused_whatever_the_list_says(string list)
    {
        var policy = OutboundPolicy.Parse(list);
        Assert.Contains("metadata", policy.RefusalFor("169.254.169.254", 80, IPAddress.Parse("169.254.169.254")));
        Assert.Contains("metadata", policy.RefusalFor("fd00:ec2::254", 80, IPAddress.Parse("fd00:ec2::254")));
        Assert.Contains("metadata", policy.RefusalFor("metadata.google.internal", 80, IPAddress.Parse("203.0.113.9")));
        Assert.Contains("metadata", policy.RefusalFor("METADATA.GOOGLE.INTERNAL.", 80, IPAddress.Parse("8.8.8.8")));
    }

    [Fact]
    public void Keywords_cidrs_addresses_host_names_and_wildcards_each_allow_what_they_name()
    {
        var policy = OutboundPolicy.Parse(" loopback , 10.1.0.0/16, 192.168.7.7, fd12::/16, gitea.internal, *.corp.example ");
        Assert.Null(policy.RefusalFor("localhost", 3000, IPAddress.Loopback));
        Assert.Null(policy.RefusalFor("x", 80, IPAddress.Parse("10.1.200.3")));
        Assert.NotNull(policy.RefusalFor("x", 80, IPAddress.Parse("10.2.0.1")));
        Assert.Null(policy.RefusalFor("x", 80, IPAddress.Parse("192.168.7.7")));
        Assert.NotNull(policy.RefusalFor("x", 80, IPAddress.Parse("192.168.7.8")));
        Assert.Null(policy.RefusalFor("x", 80, IPAddress.Parse("fd12::9")));
        Assert.Null(policy.RefusalFor("Gitea.Internal", 443, IPAddress.Parse("10.9.9.9")));
        Assert.Null(policy.RefusalFor("plane.corp.example", 443, IPAddress.Parse("172.20.0.2")));
        Assert.NotNull(policy.RefusalFor("corp.example", 443, IPAddress.Parse("172.20.0.2")));
        Assert.NotNull(policy.RefusalFor("evilcorp.example", 443, IPAddress.Parse("172.20.0.2")));

        // No "external" in this list: public addresses are refused too.
        Assert.NotNull(policy.RefusalFor("api.example.com", 443, IPAddress.Parse("140.82.112.3")));
    }

    [Fact]
    public void A_cidr_with_host_bits_means_its_network()
    {
        var policy = OutboundPolicy.Parse("10.0.0.1/8");
        Assert.Null(policy.RefusalFor("x", 80, IPAddress.Parse("10.200.0.1")));
        Assert.NotNull(policy.RefusalFor("x", 80, IPAddress.Parse("11.0.0.1")));
    }

    [Fact]
    public void The_host_wide_urls_are_allowed_by_host_and_port_only()
    {
        var policy = OutboundPolicy.Parse("external", [new Uri("http://127.0.0.1:9123/api/v3"), new Uri("http://plane.lan/")]);
        Assert.True(policy.IsAlwaysAllowed("127.0.0.1", 9123));
        Assert.Null(policy.RefusalFor("127.0.0.1", 9123, IPAddress.Loopback));
        Assert.NotNull(policy.RefusalFor("127.0.0.1", 5432, IPAddress.Loopback));
        Assert.Null(policy.RefusalFor("plane.lan", 80, IPAddress.Parse("10.0.0.4")));
        Assert.NotNull(policy.RefusalFor("plane.lan", 8080, IPAddress.Parse("10.0.0.4")));
    }

    [Theory]
    [InlineData("intranet")]
    [InlineData("10.0.0.0/33")]
    [InlineData("10.0.0.0/x")]
    [InlineData("*.")]
    [InlineData("ht tp://x")]
    public void Invalid_entries_are_refused_with_a_message_naming_them(string list)
    {
        if (list == "intranet")
        {
            Assert.Null(OutboundPolicy.Parse(list).RefusalFor("intranet", 80, IPAddress.Parse("10.0.0.2"))); // a bare host name is valid
            return;
        }

        var ex = Assert.Throws<FormatException>(() => OutboundPolicy.Parse(list));
        Assert.Contains("ORCH_OUTBOUND_ALLOWED_HOSTS", ex.Message);
        Assert.Contains(list.Trim(), ex.Message);
    }

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://127.0.0.1:5432/")]
    [InlineData("http://[::1]/")]
    [InlineData("http://0x7f000001/")]
    [InlineData("http://2130706433/")]
    [InlineData("http://10.0.0.1/")]
    [InlineData("http://metadata.google.internal/computeMetadata/v1/")]
    [InlineData("http://[::ffff:169.254.169.254]/")]
    public async Task Urls_that_reach_forbidden_addresses_are_refused_when_saved(string url)
    {
        var refusal = await OutboundPolicy.Parse("external").CheckUrlAsync(new Uri(url), CancellationToken.None);
        Assert.NotNull(refusal);
        Assert.Contains("ORCH_OUTBOUND_ALLOWED_HOSTS", refusal);
    }

    [Fact]
    public async Task A_name_that_does_not_resolve_here_passes_the_save_check_and_is_checked_at_connect_time()
    {
        var policy = OutboundPolicy.Parse("external");
        Assert.Null(await policy.CheckUrlAsync(new Uri("https://plane.example.invalid/"), CancellationToken.None));
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(() => policy.ResolveAllowedAsync("plane.example.invalid", 443, CancellationToken.None));
        Assert.NotNull(await policy.CheckUrlAsync(new Uri("ftp://files.example.com/"), CancellationToken.None));
    }

    [Fact]
    public async Task Localhost_resolves_to_loopback_and_is_refused_at_connect_time_unless_allowed()
    {
        var refused = await Assert.ThrowsAsync<OutboundRefusedException>(() => OutboundPolicy.Parse("external").ResolveAllowedAsync("localhost", 80, CancellationToken.None));
        Assert.Contains("loopback", refused.Message);
        var allowed = await OutboundPolicy.Parse("loopback").ResolveAllowedAsync("localhost", 80, CancellationToken.None);
        Assert.All(allowed, a => Assert.True(IPAddress.IsLoopback(a)));
    }

    [Fact]
    public async Task Git_remotes_are_checked_and_pinned_to_the_checked_address()
    {
        var loopback = OutboundPolicy.Parse("loopback");
        Assert.Empty(await loopback.CheckGitRemoteAsync("/srv/git/acme/web.git", CancellationToken.None));
        Assert.Empty(await loopback.CheckGitRemoteAsync("http://127.0.0.1:3000/acme/web.git", CancellationToken.None));
        var pin = Assert.Single(await loopback.CheckGitRemoteAsync("http://localhost:3000/acme/web.git", CancellationToken.None));
        Assert.Equal("http.curloptResolve", pin.Key);
        Assert.StartsWith("localhost:3000:", pin.Value);

        var external = OutboundPolicy.Parse("external");
        Assert.Contains("local path", (await Assert.ThrowsAsync<OutboundRefusedException>(() => external.CheckGitRemoteAsync("/etc/passwd-repo", CancellationToken.None))).Message);
        Assert.Contains("loopback", (await Assert.ThrowsAsync<OutboundRefusedException>(() => external.CheckGitRemoteAsync("file:///srv/git/web.git", CancellationToken.None))).Message);
        await Assert.ThrowsAsync<OutboundRefusedException>(() => external.CheckGitRemoteAsync("https://127.0.0.1/acme/web.git", CancellationToken.None));
        await Assert.ThrowsAsync<OutboundRefusedException>(() => external.CheckGitRemoteAsync("git@10.0.0.1:acme/web.git", CancellationToken.None));
        await Assert.ThrowsAsync<OutboundRefusedException>(() => external.CheckGitRemoteAsync("ssh://git@github.com/acme/web.git", CancellationToken.None));
    }
}
