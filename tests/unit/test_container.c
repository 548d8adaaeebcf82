/*
 * test_container.c - ns_container_parse(): the container id and runtime a
 * cgroup v2 path names, and how much of the path names it (the directories
 * ns_container_of() then requires to be root's).
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "netns/ns_discover.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void parses(const char *path, const char *runtime, const char *dir)
{
	char id[65] = "";
	const char *rt = NULL;
	size_t dlen = 0;

	CHECK(ns_container_parse(path, strlen(path), id, &rt, &dlen) == 0);
	CHECK(strcmp(id, ID) == 0);
	CHECK(rt && strcmp(rt, runtime) == 0);
	CHECK_EQ(dlen, strlen(dir));
	CHECK(strncmp(path, dir, strlen(dir)) == 0);
}

static void no_container(const char *path)
{
	char id[65] = "untouched";
	const char *rt = "untouched";
	size_t dlen = 7;

	CHECK(ns_container_parse(path, strlen(path), id, &rt, &dlen) ==
	      -ENOENT);
	CHECK(strcmp(id, "untouched") == 0 && strcmp(rt, "untouched") == 0);
	CHECK_EQ(dlen, 7);
}

int main(void)
{
	parses("/system.slice/docker-" ID ".scope", "docker",
	       "/system.slice/docker-" ID ".scope");
	/* the id's directory, not what a container made below it */
	parses("/system.slice/docker-" ID ".scope/init.scope", "docker",
	       "/system.slice/docker-" ID ".scope");
	parses("/docker/" ID, "docker", "/docker/" ID);
	parses("/kubepods.slice/kubepods-burstable.slice/"
	       "cri-containerd-" ID ".scope",
	       "containerd",
	       "/kubepods.slice/kubepods-burstable.slice/"
	       "cri-containerd-" ID ".scope");
	parses("/machine.slice/libpod-" ID ".scope/container", "podman",
	       "/machine.slice/libpod-" ID ".scope");
	parses("/kubepods/besteffort/pod1/crio-" ID, "cri-o",
	       "/kubepods/besteffort/pod1/crio-" ID);
	parses("/kubepods/burstable/pod2/" ID, "containerd",
	       "/kubepods/burstable/pod2/" ID);
	no_container("/");
	no_container("/user.slice/user-1000.slice/session-2.scope");
	no_container("/docker/0123456789ABCDEF0123456789abcdef0123456789abcdef"
		     "0123456789abcdef"); /* upper case: not an id */
	no_container("/docker/" ID "0");  /* 65 digits */
	no_container("/docker/0123");	  /* too short */
	return check_exit();
}
