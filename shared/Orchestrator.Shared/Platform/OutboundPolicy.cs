using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Shared.Platform;

/// <summary>What kind of address an outbound connection would reach (<see cref="OutboundPolicy.Classify"/>).</summary>
public enum AddressClass
{
    /// <summary>A public (global unicast) address: what <c>external</c> allows.</summary>
    External,

    /// <summary>This machine: <c>127.0.0.0/8</c>, <c>::1</c>, and the unspecified <c>0.0.0.0/8</c> / <c>::</c> (which reach it on Linux).</summary>
    Loopback,

    /// <summary>A private network: RFC 1918 (<c>10/8</c>, <c>172.16/12</c>, <c>192.168/16</c>), shared CGNAT space (<c>100.64/10</c>, RFC 6598) and IPv6 unique local addresses (<c>fc00::/7</c>, RFC 4193).</summary>
    Private,

    /// <summary>Link-local: <c>169.254/16</c>, <c>fe80::/10</c>; allowed only by an explicit CIDR.</summary>
    LinkLocal,

    /// <summary>Special-purpose blocks that are neither public nor private (multicast, broadcast, documentation, benchmarking, reserved; RFC 6890); allowed only by an explicit CIDR.</summary>
    Reserved,

    /// <summary>A cloud instance-metadata endpoint (<see cref="OutboundPolicy.MetadataAddresses"/>): refused whatever the list says.</summary>
    Metadata,
}

/// <summary>An outbound connection the <see cref="OutboundPolicy"/> refuses; the message names the address and the rule.</summary>
/// <param name="message">Which host and address, and which rule refused it.</param>
public sealed class OutboundRefusedException(string message) : Exception(message);

/// <summary>
/// Which hosts the orchestrator may connect to on a project's behalf (platform APIs, git remotes, webhook targets): the
/// defence against server-side request forgery. Configured by <c>ORCH_OUTBOUND_ALLOWED_HOSTS</c>, a comma-separated list in
/// the spirit of Gitea's <c>webhook.ALLOWED_HOST_LIST</c> (https://docs.gitea.com/administration/config-cheat-sheet#webhook-webhook):
/// <list type="bullet">
/// <item><c>external</c> (the default): public addresses only;</item>
/// <item><c>loopback</c>: this machine (<see cref="AddressClass.Loopback"/>; also local-path git remotes);</item>
/// <item><c>private</c>: private networks (<see cref="AddressClass.Private"/>);</item>
/// <item><c>*</c>: every address;</item>
/// <item>a CIDR (<c>10.1.0.0/16</c>, <c>fd12::/48</c>) or a single address;</item>
/// <item>a host name (<c>plane.corp.example</c>) or a wildcard (<c>*.corp.example</c>): that name, whatever it resolves to.</item>
/// </list>
/// The host-wide URLs the administrator configured (<c>ORCH_GITHUB_API_URL</c>, <c>ORCH_PLANE_API_URL</c>, …) are always
/// allowed, by host and port. Cloud metadata endpoints (<see cref="MetadataAddresses"/>, <see cref="MetadataHostNames"/>)
/// are refused whatever the list says. The check runs when a URL is saved (<see cref="CheckUrlAsync"/>) and on the
/// resolved address at connect time (<see cref="CreateHandler"/>'s <see cref="SocketsHttpHandler.ConnectCallback"/>; git
/// remotes are pinned to the checked address by <see cref="CheckGitRemoteAsync"/>), so a name that resolves to an allowed
/// address when saved and to a forbidden one later (DNS rebinding) is still refused.
/// </summary>
public sealed class OutboundPolicy
{
    /// <summary>The setting's name, for messages.</summary>
    public const string SettingName = "ORCH_OUTBOUND_ALLOWED_HOSTS";

    /// <summary>The default list: public addresses only.</summary>
    public const string DefaultList = "external";

    /// <summary>
    /// Instance-metadata addresses of the clouds, refused always: AWS/Azure/GCP/OpenStack IMDS <c>169.254.169.254</c>, AWS
    /// IMDS over IPv6 <c>fd00:ec2::254</c>, AWS ECS task metadata <c>169.254.170.2</c> and <c>fd00:ec2::23</c>, the AWS
    /// Time Sync/DNS link-local resolver <c>169.254.169.253</c>, Azure's WireServer <c>168.63.129.16</c>, Alibaba Cloud
    /// <c>100.100.100.200</c>, Oracle Cloud <c>192.0.0.192</c>.
    /// </summary>
    public static readonly IReadOnlyList<IPAddress> MetadataAddresses =
    [
        IPAddress.Parse("169.254.169.254"), IPAddress.Parse("169.254.169.253"), IPAddress.Parse("169.254.170.2"),
        IPAddress.Parse("168.63.129.16"), IPAddress.Parse("100.100.100.200"), IPAddress.Parse("192.0.0.192"),
        IPAddress.Parse("fd00:ec2::254"), IPAddress.Parse("fd00:ec2::23"),
    ];

    /// <summary>Metadata host names, refused always (compared case-insensitively, a trailing dot ignored).</summary>
    public static readonly IReadOnlyList<string> MetadataHostNames =
    [
        "metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal", "metadata.azure.com",
    ];

    private static readonly (IPNetwork Network, AddressClass Class)[] SpecialBlocks =
    [
        (IPNetwork.Parse("0.0.0.0/8"), AddressClass.Loopback),
        (IPNetwork.Parse("127.0.0.0/8"), AddressClass.Loopback),
        (IPNetwork.Parse("::1/128"), AddressClass.Loopback),
        (IPNetwork.Parse("::/128"), AddressClass.Loopback),
        (IPNetwork.Parse("10.0.0.0/8"), AddressClass.Private),
        (IPNetwork.Parse("172.16.0.0/12"), AddressClass.Private),
        (IPNetwork.Parse("192.168.0.0/16"), AddressClass.Private),
        (IPNetwork.Parse("100.64.0.0/10"), AddressClass.Private),
        (IPNetwork.Parse("fc00::/7"), AddressClass.Private),
        (IPNetwork.Parse("169.254.0.0/16"), AddressClass.LinkLocal),
        (IPNetwork.Parse("fe80::/10"), AddressClass.LinkLocal),
        (IPNetwork.Parse("192.0.0.0/24"), AddressClass.Reserved),
        (IPNetwork.Parse("192.0.2.0/24"), AddressClass.Reserved),
        (IPNetwork.Parse("198.18.0.0/15"), AddressClass.Reserved),
        (IPNetwork.Parse("198.51.100.0/24"), AddressClass.Reserved),
        (IPNetwork.Parse("203.0.113.0/24"), AddressClass.Reserved),
        (IPNetwork.Parse("224.0.0.0/4"), AddressClass.Reserved),
        (IPNetwork.Parse("240.0.0.0/4"), AddressClass.Reserved),
        (IPNetwork.Parse("100::/64"), AddressClass.Reserved),
        (IPNetwork.Parse("2001:db8::/32"), AddressClass.Reserved),
        (IPNetwork.Parse("ff00::/8"), AddressClass.Reserved),
    ];

    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");

    private readonly bool _all;
    private readonly bool _external;
    private readonly bool _loopback;
    private readonly bool _private;
    private readonly IReadOnlyList<IPNetwork> _networks;
    private readonly HashSet<string> _hostNames;
    private readonly IReadOnlyList<string> _wildcardSuffixes;
    private readonly HashSet<(string Host, int Port)> _alwaysAllowed;

    private OutboundPolicy(string list, bool all, bool external, bool loopback, bool @private, IReadOnlyList<IPNetwork> networks,
        HashSet<string> hostNames, IReadOnlyList<string> wildcardSuffixes, HashSet<(string, int)> alwaysAllowed)
    {
        List = list;
        _all = all;
        _external = external;
        _loopback = loopback;
        _private = @private;
        _networks = networks;
        _hostNames = hostNames;
        _wildcardSuffixes = wildcardSuffixes;
        _alwaysAllowed = alwaysAllowed;
    }

    /// <summary>
    /// Resolves host names for every check and connection (default: DNS). The test suite replaces it process-wide with a
    /// trip-wire under which the real Telegram's host name resolves to nothing and every attempt is recorded (issue #12:
    /// no test can reach the real Telegram).
    /// </summary>
    internal static Func<string, CancellationToken, Task<IPAddress[]>> Resolve { get; set; } = Dns.GetHostAddressesAsync;

    /// <summary>The list as configured (normalised: entries trimmed and joined with <c>,</c>), for messages.</summary>
    public string List { get; }

    /// <summary>Whether local-path git remotes (and loopback addresses) are allowed.</summary>
    public bool AllowsLoopback => _all || _loopback;

    /// <summary>Parses a list (see the class summary); <c>null</c> or empty = <see cref="DefaultList"/>.</summary>
    /// <param name="list">Comma-separated entries.</param>
    /// <param name="alwaysAllowed">The host-wide configured URLs, allowed by host and port whatever the list says.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="FormatException">An entry is neither a keyword, a CIDR, an address nor a host name; the message names each.</exception>
    public static OutboundPolicy Parse(string? list, IEnumerable<Uri>? alwaysAllowed = null)
    {
        var entries = (string.IsNullOrWhiteSpace(list) ? DefaultList : list)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        bool all = false, external = false, loopback = false, @private = false;
        var networks = new List<IPNetwork>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var wildcards = new List<string>();
        var errors = new List<string>();
        foreach (var entry in entries)
        {
            switch (entry.ToLowerInvariant())
            {
                case "*":
                    all = true;
                    continue;
                case "external":
                    external = true;
                    continue;
                case "loopback":
                    loopback = true;
                    continue;
                case "private":
                    @private = true;
                    continue;
            }

            if (entry.Contains('/', StringComparison.Ordinal))
            {
                if (IPNetwork.TryParse(entry, out var network))
                {
                    networks.Add(network);
                }
                else
                {
                    errors.Add($"'{entry}' is not a CIDR such as 10.0.0.0/8");
                }
            }
            else if (IPAddress.TryParse(entry.Trim('[', ']'), out var address))
            {
                address = Canonical(address);
                networks.Add(new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128));
            }
            else if (entry.StartsWith("*.", StringComparison.Ordinal) && IsHostName(entry[2..]))
            {
                wildcards.Add(entry[1..].ToLowerInvariant());
            }
            else if (IsHostName(entry))
            {
                names.Add(NormalHost(entry));
            }
            else
            {
                errors.Add($"'{entry}' is not external, loopback, private, *, a CIDR, an address, a host name or *.domain");
            }
        }

        if (errors.Count > 0)
        {
            throw new FormatException($"{SettingName}: {string.Join("; ", errors)}");
        }

        var allowed = new HashSet<(string, int)>();
        foreach (var url in alwaysAllowed ?? [])
        {
            if (url.IsAbsoluteUri && !url.IsFile)
            {
                allowed.Add((NormalHost(url.IdnHost), url.Port));
            }
        }

        return new OutboundPolicy(string.Join(",", entries), all, external, loopback, @private, networks, names, wildcards, allowed);
    }

    /// <summary>The class of an address (IPv4-mapped, NAT64 and 6to4 addresses are judged by the IPv4 address they carry).</summary>
    /// <param name="address">The address.</param>
    /// <returns>Its class.</returns>
    public static AddressClass Classify(IPAddress address)
    {
        address = Canonical(address);
        if (MetadataAddresses.Any(m => m.Equals(address)))
        {
            return AddressClass.Metadata;
        }

        if (address.Equals(IPAddress.Broadcast))
        {
            return AddressClass.Reserved;
        }

        foreach (var (network, kind) in SpecialBlocks)
        {
            if (network.BaseAddress.AddressFamily == address.AddressFamily && network.Contains(address))
            {
                return kind;
            }
        }

        return AddressClass.External;
    }

    /// <summary>Why a connection to <paramref name="address"/> for <paramref name="host"/>:<paramref name="port"/> is refused, or <c>null</c> when it is allowed.</summary>
    /// <param name="host">The host name (or address literal) of the URL.</param>
    /// <param name="port">The port.</param>
    /// <param name="address">One address <paramref name="host"/> resolved to.</param>
    /// <returns>A message naming the rule, or <c>null</c>.</returns>
    public string? RefusalFor(string host, int port, IPAddress address)
    {
        host = NormalHost(host);
        address = Canonical(address);
        if (_alwaysAllowed.Contains((host, port)))
        {
            return null;
        }

        var kind = Classify(address);
        var target = host == address.ToString() ? host : $"{host} ({address})";
        if (kind == AddressClass.Metadata || IsMetadataHost(host))
        {
            return $"{target} is a cloud metadata endpoint; it is refused whatever {SettingName} says";
        }

        if (_all || MatchesName(host) || _networks.Any(n => n.BaseAddress.AddressFamily == address.AddressFamily && n.Contains(address)))
        {
            return null;
        }

        var allowedByClass = kind switch
        {
            AddressClass.External => _external,
            AddressClass.Loopback => _loopback,
            AddressClass.Private => _private,
            _ => false,
        };
        if (allowedByClass)
        {
            return null;
        }

        var (what, keyword) = kind switch
        {
            AddressClass.External => ("a public address", "external"),
            AddressClass.Loopback => ("a loopback address (this machine)", "loopback"),
            AddressClass.Private => ("a private-network address", "private"),
            AddressClass.LinkLocal => ("a link-local address", null),
            _ => ("a reserved address", null),
        };
        var add = keyword is null ? "a CIDR containing it or the host name" : $"'{keyword}', a CIDR containing it or the host name";
        return $"{target} is {what}, which {SettingName}={List} does not allow (add {add} to allow it)";
    }

    /// <summary>Whether <paramref name="host"/>:<paramref name="port"/> is one of the host-wide configured URLs.</summary>
    /// <param name="host">Host.</param>
    /// <param name="port">Port.</param>
    /// <returns><c>true</c> when always allowed.</returns>
    public bool IsAlwaysAllowed(string host, int port) => _alwaysAllowed.Contains((NormalHost(host), port));

    /// <summary>
    /// Resolves <paramref name="host"/> and keeps the addresses the policy allows (connect time).
    /// </summary>
    /// <param name="host">Host name or address literal.</param>
    /// <param name="port">Port.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The allowed addresses, at least one, in resolver order.</returns>
    /// <exception cref="OutboundRefusedException">No address is allowed; the message names the first refused address and its rule.</exception>
    /// <exception cref="SocketException">The name does not resolve.</exception>
    public async Task<IReadOnlyList<IPAddress>> ResolveAllowedAsync(string host, int port, CancellationToken cancellationToken)
    {
        var name = NormalHost(host);
        if (IsMetadataHost(name) && !_alwaysAllowed.Contains((name, port)))
        {
            throw new OutboundRefusedException($"Outbound connection to {name}:{port} refused: {name} is a cloud metadata endpoint; it is refused whatever {SettingName} says");
        }

        var addresses = IPAddress.TryParse(name, out var literal) ? [literal] : await Resolve(name, cancellationToken).ConfigureAwait(false);
        var allowed = new List<IPAddress>();
        string? firstRefusal = null;
        foreach (var address in addresses)
        {
            if (RefusalFor(name, port, address) is { } refusal)
            {
                firstRefusal ??= refusal;
            }
            else
            {
                allowed.Add(address);
            }
        }

        return allowed.Count > 0
            ? allowed
            : throw new OutboundRefusedException($"Outbound connection to {name}:{port} refused: {firstRefusal ?? "the name resolved to no address"}");
    }

    /// <summary>
    /// Checks a URL when it is saved: scheme http(s), no metadata host, and every address its host resolves to now must be
    /// allowed (an address literal is judged as it is; a name that does not resolve passes here and is checked again at
    /// every connection).
    /// </summary>
    /// <param name="url">Absolute URL.</param>
    /// <param name="cancellationToken">Cancellation (resolution is bounded to 2 s).</param>
    /// <returns>The refusal (naming the rule), or <c>null</c> when allowed.</returns>
    public async Task<string?> CheckUrlAsync(Uri url, CancellationToken cancellationToken)
    {
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            return $"{url} is not an http(s) URL";
        }

        var host = NormalHost(url.IdnHost);
        if (IsAlwaysAllowed(host, url.Port))
        {
            return null;
        }

        if (IsMetadataHost(host))
        {
            return $"{host} is a cloud metadata endpoint; it is refused whatever {SettingName} says";
        }

        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                addresses = await Resolve(host, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                return null; // Not resolvable from here now: every connection is checked on its resolved address.
            }
        }

        return addresses.Select(a => RefusalFor(host, url.Port, a)).FirstOrDefault(r => r is not null);
    }

    /// <summary>
    /// Checks a git remote before git reaches it and pins it: http(s) remotes are resolved and checked like any connection and
    /// the checked address is handed to git as <c>http.curloptResolve</c> (git ≥ 2.37, https://git-scm.com/docs/git-config#Documentation/git-config.txt-httpcurloptResolve)
    /// so git cannot resolve the name again to another address; local paths and <c>file://</c> URLs are allowed only when
    /// loopback is; every other transport (ssh, git://) is refused.
    /// </summary>
    /// <param name="remoteUrl">The remote URL or local path.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Git configuration to pass to the git call (<c>http.curloptResolve</c>), possibly empty.</returns>
    /// <exception cref="OutboundRefusedException">The remote is not allowed.</exception>
    /// <exception cref="SocketException">The host does not resolve.</exception>
    public async Task<IReadOnlyList<(string Key, string Value)>> CheckGitRemoteAsync(string remoteUrl, CancellationToken cancellationToken)
    {
        var isPath = remoteUrl.StartsWith('/') || remoteUrl.StartsWith("./", StringComparison.Ordinal) || remoteUrl.StartsWith("../", StringComparison.Ordinal);
        if (isPath || (Uri.TryCreate(remoteUrl, UriKind.Absolute, out var file) && file.IsFile))
        {
            return AllowsLoopback
                ? []
                : throw new OutboundRefusedException($"Git remote {remoteUrl} refused: a local path is a loopback remote, which {SettingName}={List} does not allow (add 'loopback' to allow it)");
        }

        if (!Uri.TryCreate(remoteUrl, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            throw new OutboundRefusedException($"Git remote refused: only http(s) remotes (and, when loopback is allowed, local paths) are supported, got a '{(url?.Scheme ?? "scp-like")}' remote");
        }

        var host = NormalHost(url.IdnHost);
        var addresses = await ResolveAllowedAsync(host, url.Port, cancellationToken).ConfigureAwait(false);
        if (IPAddress.TryParse(host, out _))
        {
            return [];
        }

        // CURLOPT_RESOLVE entries are HOST:PORT:ADDRESS[,ADDRESS]… with IPv6 addresses in brackets (https://curl.se/libcurl/c/CURLOPT_RESOLVE.html).
        var list = string.Join(",", addresses.Select(a => a.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{a}]" : a.ToString()));
        return [("http.curloptResolve", $"{host}:{url.Port}:{list}")];
    }

    /// <summary>
    /// The primary handler of every outbound <see cref="HttpClient"/>: each new connection resolves its host and connects
    /// only to an allowed address (<see cref="ResolveAllowedAsync"/>); redirects are not followed (a credential header must
    /// not follow a redirect to another host) and no proxy is used (the check must see the real target); pooled
    /// connections live at most 2 minutes so DNS changes are seen.
    /// </summary>
    /// <returns>A new handler.</returns>
    public SocketsHttpHandler CreateHandler() => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectCallback = ConnectAsync,
    };

    /// <summary>The <see cref="SocketsHttpHandler.ConnectCallback"/> of <see cref="CreateHandler"/>.</summary>
    /// <param name="context">Host and port to reach.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The connected stream.</returns>
    /// <exception cref="OutboundRefusedException">The target is not allowed (surfaces as the inner exception of an <see cref="HttpRequestException"/>).</exception>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var endpoint = context.DnsEndPoint;
        var addresses = await ResolveAllowedAsync(endpoint.Host, endpoint.Port, cancellationToken).ConfigureAwait(false);
        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last!;
    }

    private bool MatchesName(string host) =>
        _hostNames.Contains(host) || _wildcardSuffixes.Any(s => host.EndsWith(s, StringComparison.OrdinalIgnoreCase) && host.Length > s.Length);

    private static bool IsMetadataHost(string host) => MetadataHostNames.Contains(host, StringComparer.OrdinalIgnoreCase);

    private static string NormalHost(string host) => host.Trim('[', ']').TrimEnd('.').ToLowerInvariant();

    private static bool IsHostName(string value) =>
        Uri.CheckHostName(value.TrimEnd('.')) == UriHostNameType.Dns && !value.Contains('*', StringComparison.Ordinal);

    /// <summary>IPv4-mapped (<c>::ffff:a.b.c.d</c>), NAT64 (<c>64:ff9b::a.b.c.d</c>) and 6to4 (<c>2002:AABB:CCDD::</c>) addresses as the IPv4 address they reach.</summary>
    private static IPAddress Canonical(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes = address.GetAddressBytes();
            if (Nat64.Contains(address))
            {
                return new IPAddress(bytes.AsSpan(12, 4));
            }

            if (SixToFour.Contains(address))
            {
                return new IPAddress(bytes.AsSpan(2, 4));
            }

            return address.ScopeId != 0 ? new IPAddress(bytes) : address;
        }

        return address;
    }
}
