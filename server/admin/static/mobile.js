// 流动党员 page: a form's 联系人 box never offers the member the form is about (登记流出,
// 指定联系人). The server refuses that choice anyway; this only keeps it out of sight. The
// page's CSP allows no inline script, hence this file.
(function () {
  "use strict";

  function leaveOut(form) {
    var member = form.querySelector("select[name=member]");
    var keeper = form.querySelector("select[name=keeper]");
    if (!member || !keeper) return;
    var sync = function () {
      Array.prototype.forEach.call(keeper.options, function (option) {
        var same = option.value !== "" && option.value === member.value;
        option.hidden = same;
        option.disabled = same;
        if (same && option.selected) keeper.value = "";
      });
    };
    member.addEventListener("change", sync);
    sync();
  }

  document.querySelectorAll("#mobile form").forEach(leaveOut);
})();
