using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Projects;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Tests.Integration.Accounts;

/// <summary><see cref="AccountStore.ChangeMembershipAsync"/> on the real PostgreSQL: a project keeps an admin, even when two admins step down at once.</summary>
public sealed class MembershipChangeTests : IAsyncLifetime
{
    private const string Password = "correct horse battery";
    private TestDatabase _db = null!;
    private AccountStore _store = null!;

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync();
        _store = new AccountStore(_db.DataSource, TimeProvider.System);
        var projects = new ProjectStore(_db.DataSource, new SecretProtector(new byte[32]), TimeProvider.System, cacheDuration: TimeSpan.Zero);
        await projects.CreateAsync(
            new ProjectDefinition { Slug = "web", WorkItemPrefix = "WEB", Tracker = new TrackerConfig { ProjectIds = ["web-id"] }, Forge = new ForgeConfig { Repos = ["acme/web"] } },
            new Dictionary<string, string?>());
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task The_last_admin_can_be_neither_demoted_nor_removed_unless_allowed()
    {
        var alice = await _store.CreateUserAsync("alice", Password);
        var bob = await _store.CreateUserAsync("bob", Password);
        await _store.SetMembershipAsync(alice.Id, "web", ProjectRole.Admin);
        await _store.SetMembershipAsync(bob.Id, "web", ProjectRole.Editor);

        Assert.Equal(MembershipChange.LastAdmin, await _store.ChangeMembershipAsync("web", alice.Id, ProjectRole.Editor, mayLeaveNoAdmin: false));
        Assert.Equal(MembershipChange.LastAdmin, await _store.ChangeMembershipAsync("web", alice.Id, null, mayLeaveNoAdmin: false));
        Assert.Equal(MembershipChange.Changed, await _store.ChangeMembershipAsync("web", bob.Id, ProjectRole.Viewer, mayLeaveNoAdmin: false));
        Assert.Equal(MembershipChange.Changed, await _store.ChangeMembershipAsync("web", alice.Id, ProjectRole.Admin, mayLeaveNoAdmin: false));
        Assert.Equal(MembershipChange.NotMember, await _store.ChangeMembershipAsync("web", 999_999, ProjectRole.Viewer, mayLeaveNoAdmin: false));
        Assert.Equal(ProjectRole.Admin, await _store.RoleAsync(alice, "web"));

        // A disabled admin does not count: they cannot administer anything.
        var carol = await _store.CreateUserAsync("carol", Password);
        await _store.SetMembershipAsync(carol.Id, "web", ProjectRole.Admin);
        await _db.ExecuteAsync($"UPDATE users SET disabled = true WHERE id = {carol.Id}");
        Assert.Equal(MembershipChange.LastAdmin, await _store.ChangeMembershipAsync("web", alice.Id, null, mayLeaveNoAdmin: false));

        Assert.Equal(MembershipChange.Changed, await _store.ChangeMembershipAsync("web", alice.Id, null, mayLeaveNoAdmin: true));
        Assert.Null(await _store.RoleAsync(alice, "web"));
        Assert.Equal(["bob", "carol"], (await _store.ListMembersAsync("web")).Select(m => m.Username));
    }

    [Fact]
    public async Task Two_admins_stepping_down_at_once_leave_one_admin()
    {
        var users = new List<UserAccount>();
        foreach (var name in new[] { "ann", "ben" })
        {
            var user = await _store.CreateUserAsync(name, Password);
            await _store.SetMembershipAsync(user.Id, "web", ProjectRole.Admin);
            users.Add(user);
        }

        for (var round = 0; round < 10; round++)
        {
            var outcomes = await Task.WhenAll(users.Select(u => Task.Run(() => _store.ChangeMembershipAsync("web", u.Id, ProjectRole.Viewer, mayLeaveNoAdmin: false))));
            Assert.Equal(1, outcomes.Count(o => o == MembershipChange.Changed));
            Assert.Equal(1, outcomes.Count(o => o == MembershipChange.LastAdmin));
            Assert.Single(await _store.ListMembersAsync("web"), m => m.Role == ProjectRole.Admin);
            foreach (var user in users)
            {
                await _store.SetMembershipAsync(user.Id, "web", ProjectRole.Admin);
            }
        }
    }

    [Fact]
    public async Task Host_admins_are_listed_by_name()
    {
        await _store.CreateUserAsync("zed", Password, isHostAdmin: true);
        await _store.CreateUserAsync("amy", Password, isHostAdmin: true);
        await _store.CreateUserAsync("joe", Password);
        Assert.Equal(["amy", "zed"], (await _store.ListHostAdminsAsync()).Select(u => u.Username));
    }
}
