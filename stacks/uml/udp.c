/* A tiny UDP sender and listener run inside the UML guest (static, so it starts fast).
 *
 *   uml-udp send DEST PORT HEXPAYLOAD [SOURCEPORT]
 *   uml-udp listen PORT ipv4|ipv6 FILE
 *
 * listen binds, forks, prints the child's pid and returns; the child appends one
 * line "SOURCE PORT HEXDATA" to FILE per datagram until it is killed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned char buffer[65536];

/* Fill *address for text (IPv4 or IPv6) and port; return its length or 0. */
static socklen_t address_of(const char *text, int port, struct sockaddr_storage *address)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)address;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)address;

    memset(address, 0, sizeof *address);
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        return sizeof *v4;
    }
    if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        return sizeof *v6;
    }
    return 0;
}

static int send_datagram(char **argv, int argc)
{
    struct sockaddr_storage to, from;
    socklen_t length = address_of(argv[2], atoi(argv[3]), &to);
    size_t size = strlen(argv[4]) / 2;
    int sock;

    if (!length || size > sizeof buffer) {
        fprintf(stderr, "uml-udp: bad destination or payload\n");
        return 2;
    }
    for (size_t i = 0; i < size; i++)
        sscanf(argv[4] + 2 * i, "%2hhx", &buffer[i]);
    sock = socket(to.ss_family, SOCK_DGRAM, 0);
    if (argc > 5) {
        address_of(to.ss_family == AF_INET ? "0.0.0.0" : "::", atoi(argv[5]), &from);
        if (bind(sock, (struct sockaddr *)&from, length) < 0) {
            perror("uml-udp: bind");
            return 1;
        }
    }
    if (sendto(sock, buffer, size, 0, (struct sockaddr *)&to, length) < 0) {
        perror("uml-udp: sendto");
        return 1;
    }
    return 0;
}

static int listen_datagrams(char **argv)
{
    struct sockaddr_storage local, peer;
    int v6 = strcmp(argv[3], "ipv6") == 0;
    socklen_t length = address_of(v6 ? "::" : "0.0.0.0", atoi(argv[2]), &local);
    int sock = socket(local.ss_family, SOCK_DGRAM, 0);
    FILE *out;
    pid_t child;

    if (bind(sock, (struct sockaddr *)&local, length) < 0) {
        perror("uml-udp: bind");
        return 1;
    }
    out = fopen(argv[4], "a");
    if (!out) {
        perror("uml-udp: output");
        return 1;
    }
    child = fork();
    if (child) {
        printf("%d\n", (int)child);
        return child < 0;
    }
    setsid();
    for (;;) {
        char host[INET6_ADDRSTRLEN];
        socklen_t peer_length = sizeof peer;
        ssize_t got = recvfrom(sock, buffer, sizeof buffer, 0, (struct sockaddr *)&peer,
                               &peer_length);
        int port;

        if (got < 0)
            continue;
        if (peer.ss_family == AF_INET6) {
            struct sockaddr_in6 *p = (struct sockaddr_in6 *)&peer;
            inet_ntop(AF_INET6, &p->sin6_addr, host, sizeof host);
            port = ntohs(p->sin6_port);
        } else {
            struct sockaddr_in *p = (struct sockaddr_in *)&peer;
            inet_ntop(AF_INET, &p->sin_addr, host, sizeof host);
            port = ntohs(p->sin_port);
        }
        fprintf(out, "%s %d ", host, port);
        for (ssize_t i = 0; i < got; i++)
            fprintf(out, "%02x", buffer[i]);
        fputc('\n', out);
        fflush(out);
    }
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "send") == 0)
        return send_datagram(argv, argc);
    if (argc == 5 && strcmp(argv[1], "listen") == 0)
        return listen_datagrams(argv);
    fprintf(stderr, "usage: uml-udp send DEST PORT HEX [SPORT] | listen PORT FAMILY FILE\n");
    return 2;
}
