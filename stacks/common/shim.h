/* The JSON-lines control protocol for the C shims (stacks/PROTOCOL.md): a tiny
 * JSON reader and writer, failures, argument readers, and the control socket.
 *
 * Shared by stacks/lwip/lwip-dut.c and stacks/rump/rump-dut.c, each a single
 * translation unit that includes this file once: the functions are static.
 * It needs <errno.h>, <stdarg.h>, <stdio.h>, <stdlib.h>, <string.h>,
 * <sys/socket.h>, <sys/un.h> and <unistd.h> included first, and the shim
 * defines handle(), which answers one request line.
 */

#ifndef TESTBED_SHIM_H
#define TESTBED_SHIM_H

/* ------------------------------------------------------------------------
 * A tiny JSON reader and writer: just what the protocol's messages need.
 */

/* One parsed JSON value; arrays and objects keep their members as a list. */
struct jv {
  enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } type;
  double num;            /* J_NUM, and J_BOOL as 0/1 */
  char *str;             /* J_STR */
  char *key;             /* the member's name, inside an object */
  struct jv *kids, *next;
};

static const char *jp;   /* parse cursor */

static void jfree(struct jv *v)
{
  while (v) {
    struct jv *next = v->next;
    jfree(v->kids);
    free(v->str);
    free(v->key);
    free(v);
    v = next;
  }
}

static void jskip(void)
{
  while (*jp == ' ' || *jp == '\t' || *jp == '\r' || *jp == '\n')
    jp++;
}

/* Append the UTF-8 encoding of code point c to out. */
static char *utf8(char *out, unsigned c)
{
  if (c < 0x80) {
    *out++ = (char)c;
  } else if (c < 0x800) {
    *out++ = (char)(0xc0 | c >> 6);
    *out++ = (char)(0x80 | (c & 0x3f));
  } else {
    *out++ = (char)(0xe0 | c >> 12);
    *out++ = (char)(0x80 | ((c >> 6) & 0x3f));
    *out++ = (char)(0x80 | (c & 0x3f));
  }
  return out;
}

/* A JSON string literal at the cursor, unescaped into a fresh buffer. */
static char *jstring(void)
{
  const char *start = ++jp;
  while (*jp && *jp != '"')
    jp += (*jp == '\\' && jp[1]) ? 2 : 1;
  if (*jp != '"')
    return NULL;
  char *out = malloc((size_t)(jp - start) + 1), *o = out;
  for (const char *s = start; s < jp; s++) {
    if (*s != '\\') {
      *o++ = *s;
      continue;
    }
    switch (*++s) {
    case 'b': *o++ = '\b'; break;
    case 'f': *o++ = '\f'; break;
    case 'n': *o++ = '\n'; break;
    case 'r': *o++ = '\r'; break;
    case 't': *o++ = '\t'; break;
    case 'u': {
      unsigned c = 0;
      for (int i = 0; i < 4 && s[1]; i++) {
        char h = *++s;
        c = c * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
      }
      o = utf8(o, c);
      break;
    }
    default: *o++ = *s;   /* \" \\ \/ */
    }
  }
  *o = 0;
  jp++;
  return out;
}

/* The JSON value at the cursor, or NULL if the text is not JSON. */
static struct jv *jvalue(int depth)
{
  jskip();
  if (depth > 16)
    return NULL;
  struct jv *v = calloc(1, sizeof *v);
  if (*jp == '{' || *jp == '[') {
    int object = *jp++ == '{';
    struct jv **tail = &v->kids;
    v->type = object ? J_OBJ : J_ARR;
    jskip();
    if (*jp == (object ? '}' : ']')) {
      jp++;
      return v;
    }
    for (;;) {
      char *key = NULL;
      if (object) {
        jskip();
        if (*jp != '"' || !(key = jstring()))
          goto bad;
        jskip();
        if (*jp++ != ':') {
          free(key);
          goto bad;
        }
      }
      struct jv *kid = jvalue(depth + 1);
      if (!kid) {
        free(key);
        goto bad;
      }
      kid->key = key;
      *tail = kid;
      tail = &kid->next;
      jskip();
      if (*jp == ',') {
        jp++;
        continue;
      }
      if (*jp++ == (object ? '}' : ']'))
        return v;
      goto bad;
    }
  }
  if (*jp == '"') {
    v->type = J_STR;
    if (!(v->str = jstring()))
      goto bad;
    return v;
  }
  if (!strncmp(jp, "true", 4) || !strncmp(jp, "false", 5)) {
    v->type = J_BOOL;
    v->num = *jp == 't';
    jp += *jp == 't' ? 4 : 5;
    return v;
  }
  if (!strncmp(jp, "null", 4)) {
    jp += 4;
    return v;
  }
  char *end;
  v->num = strtod(jp, &end);
  if (end != jp && (*jp == '-' || (*jp >= '0' && *jp <= '9'))) {
    v->type = J_NUM;
    jp = end;
    return v;
  }
bad:
  jfree(v);
  return NULL;
}

/* A whole line of JSON, or NULL. */
static struct jv *jparse(const char *text)
{
  jp = text;
  struct jv *v = jvalue(0);
  jskip();
  if (v && *jp) {
    jfree(v);
    return NULL;
  }
  return v;
}

/* The member key of object o (NULL if absent or JSON null). */
static struct jv *jget(const struct jv *o, const char *key)
{
  for (struct jv *k = o->kids; k; k = k->next)
    if (k->key && !strcmp(k->key, key))
      return k->type == J_NULL ? NULL : k;
  return NULL;
}

/* A growing output text. */
struct buf {
  char *s;
  size_t n, cap;
};

static void bput(struct buf *b, const char *fmt, ...)
{
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (b->s && (size_t)n < b->cap - b->n) {
      b->n += (size_t)n;
      return;
    }
    b->cap = (b->cap + (size_t)n + 256) * 2;
    b->s = realloc(b->s, b->cap);
  }
}

/* Append s as a JSON string literal. */
static void bstr(struct buf *b, const char *s)
{
  bput(b, "\"");
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      bput(b, "\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      bput(b, "\\u%04x", *s);
    else
      bput(b, "%c", *s);
  }
  bput(b, "\"");
}

/* ------------------------------------------------------------------------
 * Failures: an op returns -1 after fail() has described what went wrong.
 */

static struct {
  const char *code;
  char text[512];
} failure;

static int fail(const char *code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(failure.text, sizeof failure.text, fmt, ap);
  va_end(ap);
  failure.code = code;
  return -1;
}

/* Argument readers: fill *out and return 0, or fail "invalid" (-1).  An
 * optional argument that is absent leaves *out alone and returns 1. */
static int arg_str(const struct jv *req, const char *key, const char **out, int required)
{
  struct jv *v = jget(req, key);
  if (!v)
    return required ? fail("invalid", "missing argument %s", key) : 1;
  if (v->type != J_STR)
    return fail("invalid", "%s must be a string", key);
  *out = v->str;
  return 0;
}

static int arg_num(const struct jv *req, const char *key, double *out, int required)
{
  struct jv *v = jget(req, key);
  if (!v)
    return required ? fail("invalid", "missing argument %s", key) : 1;
  if (v->type != J_NUM)
    return fail("invalid", "%s must be a number", key);
  *out = v->num;
  return 0;
}

static int arg_bool(const struct jv *req, const char *key, int *out, int required)
{
  struct jv *v = jget(req, key);
  if (!v)
    return required ? fail("invalid", "missing argument %s", key) : 1;
  if (v->type != J_BOOL)
    return fail("invalid", "%s must be true or false", key);
  *out = (int)v->num;
  return 0;
}


/* ------------------------------------------------------------------------
 * The control socket: one client at a time, one response line per request.
 */

static void handle(const char *line, struct buf *response);

/* Answer one client's requests until it hangs up. */
static void serve(int fd)
{
  FILE *in = fdopen(dup(fd), "r");
  char *line = NULL;
  size_t cap = 0;
  while (in && getline(&line, &cap, in) > 0) {
    struct buf response = {0};
    handle(line, &response);
    bput(&response, "\n");
    for (size_t done = 0; done < response.n;) {
      ssize_t n = write(fd, response.s + done, response.n - done);
      if (n <= 0)
        break;
      done += (size_t)n;
    }
    free(response.s);
  }
  free(line);
  if (in)
    fclose(in);
}

/* The listening UNIX socket at *path* (replacing a stale one), or -1 with errno set. */
static int control_listen(const char *path)
{
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
  unlink(path);
  if (srv < 0 || bind(srv, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(srv, 1) < 0)
    return -1;
  return srv;
}

/* Serve the clients of *srv*, one after another, for ever. */
static void serve_forever(int srv)
{
  for (;;) {
    int fd = accept(srv, NULL, NULL);
    if (fd >= 0) {
      serve(fd);
      close(fd);
    }
  }
}

#endif
