// The API reference (ReDoc) draws its maker's logo from their web site. This site loads nothing
// from elsewhere (the CSP's img-src is 'self' data:, and it must work offline), so an image
// address on another origin is left unset before the browser asks for it: no request, no CSP
// violation, and ReDoc shows its link's text alone. Loaded before ReDoc's bundle.
(function () {
  "use strict";
  var setAttribute = Element.prototype.setAttribute;
  function elsewhere(value) {
    try {
      var url = new URL(String(value), document.baseURI);
      return (url.protocol === "http:" || url.protocol === "https:") && url.origin !== location.origin;
    } catch (e) {
      return false;
    }
  }
  function refuse(image) {
    image.dispatchEvent(new Event("error"));
  }
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLImageElement && String(name).toLowerCase() === "src" && elsewhere(value)) {
      return refuse(this);
    }
    return setAttribute.call(this, name, value);
  };
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: src.get,
    set: function (value) {
      return elsewhere(value) ? refuse(this) : src.set.call(this, value);
    },
  });
})();
