"""接入小程序: what a mini-program developer must set up before the first wx.request succeeds.

Shown at the top of the docs page (`docs.py`).  The rules are WeChat's (服务器域名, HTTPS
certificates); the token's lifetime is this deployment's own setting.
"""

from __future__ import annotations

import html

from server.api.spec import PREFIX

_EXAMPLE = """\
const BASE = 'https://dangjian.example.cn' + '{prefix}';  // 已配置的 request 合法域名

function login() {{
  return new Promise((resolve, reject) => wx.login({{
    success: ({{ code }}) => wx.request({{
      url: BASE + '/auth/login', method: 'POST', data: {{ code }},
      success: (res) => res.statusCode === 200
        ? (wx.setStorageSync('token', res.data.token), resolve(res.data.token))
        : reject(res.data),            // {{error, code, field?}}
      fail: reject,
    }}),
    fail: reject,
  }}));
}}

// 带令牌调用；令牌过期（401）时重新登录，只重试一次
function call(path, options = {{}}, retried = false) {{
  return new Promise((resolve, reject) => wx.request({{
    url: BASE + path,
    method: options.method || 'GET',
    data: options.data,
    header: {{ Authorization: 'Bearer ' + wx.getStorageSync('token') }},
    success: (res) => {{
      // 无论状态码是多少都会进入 success：要自己看 statusCode
      if (res.statusCode === 401 && !retried) {{
        return login().then(() => call(path, options, true)).then(resolve, reject);
      }}
      if (res.statusCode >= 400) {{
        // 429 时 res.header['Retry-After'] 是要等的秒数；res.data.error 可直接给用户看
        return reject(res.data);
      }}
      resolve(res.data);
    }},
    fail: reject,                      // 网络不通、域名未配置、证书不被信任
  }}));
}}

call('/study/today').then((today) => console.log(today.unit.title));
"""


def guide(session_ttl: int) -> str:
    """The 接入小程序 section, in HTML (no scripts: the page is read, not run)."""
    minutes = session_ttl // 60
    example = html.escape(_EXAMPLE.format(prefix=PREFIX))
    return (
        "<section><h2>接入小程序</h2>"
        "<h3>1. 服务器域名</h3><ul>"
        "<li>在小程序管理后台「开发管理 → 开发设置 → 服务器域名」把本服务的地址填入"
        "<b> request 合法域名</b>，例如 <code>https://dangjian.example.cn</code>。"
        "未配置的域名，正式版和体验版里的请求一律失败。</li>"
        "<li>只能是 <code>https://</code>；不能用 IP 地址或 localhost；域名须经 ICP 备案；"
        "不支持只配置父域名。</li>"
        "<li>配置了端口（如 <code>:8443</code>）就只能向这个端口请求；没配端口，"
        "请求地址里也不能写端口（包括 <code>:443</code>）。</li>"
        "<li>开发者工具里的「不校验合法域名、TLS 版本及 HTTPS 证书」只用于开发，"
        "上线前关掉它在真机上试一遍。</li></ul>"
        "<h3>2. HTTPS 证书</h3><ul>"
        "<li>证书须有效、被手机系统信任、与域名一致、在有效期内、证书链完整；"
        "iOS 不接受自签名证书。</li>"
        "<li>服务器须支持 TLS 1.2 及以上。证书装在本服务前面的反向代理（如 nginx）上。</li>"
        "</ul>"
        "<h3>3. 登录与令牌</h3><ul>"
        f"<li><code>wx.login()</code> 得到的 code 发给 <code>POST {PREFIX}/auth/login</code>，"
        "换取 <code>token</code> 和 <code>expires_in</code>（秒）。"
        "code 只能用一次，五分钟内有效。</li>"
        f"<li>本部署的令牌有效期是 <b>{minutes} 分钟</b>（设置 "
        "<code>DANGJIAN_API_SESSION_TTL</code>）。过期或被注销后，请求返回 401、"
        "<code>code</code> 为 <code>UNAUTHORIZED</code>：重新 <code>wx.login()</code> 登录即可，"
        "不用让党员再做什么。</li>"
        "<li>令牌放在 <code>wx.setStorageSync</code> 里，每次请求带上 "
        "<code>Authorization: Bearer &lt;token&gt;</code>。AppSecret 只在服务器上，"
        "小程序里不要出现，也不要直接调用 <code>api.weixin.qq.com</code>。</li>"
        f"<li>退出登录：<code>POST {PREFIX}/auth/logout</code>。</li></ul>"
        "<h3>4. 出错时</h3><ul>"
        '<li>所有错误都是 <code>{"error", "code", "field"?}</code>：'
        "<code>error</code> 是可以直接给用户看的中文，<code>code</code> 供程序区分，"
        "<code>field</code> 指出哪一项填得不对。429 带 <code>Retry-After</code>（秒）。</li>"
        "<li><code>wx.request</code> 收到任何状态码都进 <code>success</code>，"
        "<code>fail</code> 只表示请求没发出去或没收到回应。</li></ul>"
        f"<h3>5. 示例</h3><pre><code>{example}</code></pre>"
        "</section>"
    )
