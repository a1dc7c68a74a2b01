"""Writing DNG files with tifffile.

Two kinds of DNG, both losslessly compressed as cameras and Adobe write them
(lossless JPEG, Compression 7, in 256 x 256 tiles; :mod:`rawmeta.io.ljpeg`),
enough for LibRaw, the Adobe DNG SDK, darktable and RawTherapee to read and
render them:

- :func:`write_cfa_dng`: a CFA (Bayer mosaic) DNG of RAW sensor values;
- :func:`write_linear_dng`: a LinearRaw DNG of demosaiced raw-RGB (camera
  RGB, 3 samples per pixel), what ``rawmeta restore`` produces.

Both share the camera tags (make, model, orientation, DNG versions, colour
matrix, as-shot neutral) made by one function. The file is written
atomically (temp file in the target's folder, fsync, rename). Without a
picture to preview, the image and every tag are one IFD; with one (a restore
from a JPEG), IFD0 is an RGB thumbnail with the camera-level tags, and its
SubIFDs are the image, then a baseline JPEG preview.

Tags tifffile writes on its own are kept in check: ``metadata=None`` stops its
JSON ImageDescription, ``software=`` replaces its ``tifffile.py`` Software tag
and no DateTime is written, so the same input always gives the same bytes.
tifffile does always write XResolution = YResolution = 1/1 with
ResolutionUnit = 1 (none), which is harmless.
"""
from __future__ import annotations

import dataclasses
import io
import os
import struct
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tifffile
from PIL import Image

from rawmeta import threads
from rawmeta.format import segments
from rawmeta.format.camera import ILLUMINANT_D65, WB_SOURCE_WORDS, CameraFacts
from rawmeta.format.shot import flat_value, value_bytes
from rawmeta.io import ljpeg
from rawmeta.io.atomic import atomic_write_bytes
from rawmeta.io.shot_metadata import ShotMetadata

#: Value of the Software tag.
SOFTWARE = "rawmeta"
#: DNGPrivateData: where an application keeps its own data in a DNG.
PRIVATE_DATA_TAG = 50740

#: 2 x 2 patterns write_cfa_dng accepts (read row by row).
BAYER_PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")

#: Row-major XYZ -> linear sRGB matrix (D65 white), the ColorMatrix1
#: :func:`write_linear_dng` falls back on when the camera's is unknown.
XYZ_TO_SRGB = (
    3.2404542, -1.5371385, -0.4985314,
    -0.9692660, 1.8760108, 0.0415560,
    0.0556434, -0.2040259, 1.0572252,
)

#: White level of the 16-bit samples :func:`write_linear_dng` writes.
LINEAR_WHITE = 65535

# TIFF field types.
_BYTE, _ASCII, _SHORT, _LONG, _RATIONAL, _SRATIONAL = 1, 2, 3, 4, 5, 10
# IFD0 tags: XMLPacket, and the pointers to the EXIF and GPS IFDs.
_XMP, _EXIF_IFD, _GPS_IFD = 700, 34665, 34853

# CFAPattern / CFAPlaneColor colour codes.
_CFA_CODE = {"R": 0, "G": 1, "B": 2}

# Denominators of the rational tags.
_MATRIX_DENOMINATOR = 10_000
_NEUTRAL_DENOMINATOR = 1_000_000

#: Long side of the thumbnail in IFD0 of a DNG with a preview (Adobe's DNG converter writes 256).
THUMBNAIL = 256
#: Long side of the JPEG preview in the second SubIFD (Adobe's "medium size" preview).
PREVIEW = 1024
#: Quality of the JPEG preview: it is a reduced copy of a JPEG, seen at screen size.
PREVIEW_QUALITY = 90
#: PreviewColorSpace (50970) value of an sRGB preview.
_PREVIEW_SRGB = 2
#: TIFF PhotometricInterpretation of a YCbCr image (a baseline JPEG preview).
_YCBCR = 6
#: TIFF Compression value of (lossless) JPEG tiles in DNG.
_LOSSLESS_JPEG = 7
#: Side of the square tiles the image data is stored in, each a lossless JPEG stream.
TILE = 256

# Rows converted at a time by linear_samples.
_ROWS_PER_BAND = 256


def write_cfa_dng(path: str | os.PathLike, cfa: np.ndarray, camera: CameraFacts) -> None:
    """Write a Bayer mosaic and its camera facts as a CFA DNG.

    The DNG has one IFD holding the whole mosaic in lossless JPEG tiles:
    PhotometricInterpretation 32803 (CFA), 16 bits per sample, DNG version
    1.4 (readable as 1.1), with ColorMatrix1, AsShotNeutral, per-position
    BlackLevel and WhiteLevel taken from ``camera``.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; replaced atomically if it exists.
    cfa : numpy.ndarray
        2-D ``uint16`` mosaic (H x W, both at least 2), in sensor orientation,
        whose top-left 2 x 2 block is laid out as ``camera.cfa``.
    camera : CameraFacts
        Facts to record. ``camera.cfa`` must be a Bayer pattern (one of
        :data:`BAYER_PATTERNS`), ``camera.xyz_to_camera`` must be given, the
        white-balance multipliers positive, the black levels below the white
        level and make and model ASCII. ``camera.black_levels`` is indexed as
        LibRaw's ``black_level_per_channel`` (R, G, B, G2, where G2 is the
        green in the blue row), so LibRaw reads the same four values back.

    Raises
    ------
    ValueError
        If ``cfa`` or ``camera`` cannot make a CFA DNG (see above).
    """
    atomic_write_bytes(path, _dng_bytes(cfa, "CFA", *_cfa_tags(cfa, camera)))


def write_linear_dng(path: str | os.PathLike, rgb: np.ndarray, camera: CameraFacts) -> None:
    """Write raw-RGB and its camera facts as a LinearRaw DNG.

    The DNG has one IFD holding the whole image in lossless JPEG tiles:
    PhotometricInterpretation 34892 (LinearRaw), 3 samples per pixel stored
    interleaved (PlanarConfiguration 1), 16 bits per sample, DNG version 1.4
    (readable as 1.1), with ColorMatrix1, CalibrationIlluminant1,
    AsShotNeutral (``1 / camera.white_balance``) and Orientation from
    ``camera``. The samples are ``round(clip(rgb, 0, 1) * 65535)``.

    The data is already normalised (black subtracted, divided by white minus
    black), so BlackLevel is 0 and WhiteLevel 65535 for every sample: the
    camera's own ``black_levels`` and ``white_level`` are not what the data
    uses and are not written.

    When ``camera.xyz_to_camera`` is ``None`` the colour matrix falls back on
    :data:`XYZ_TO_SRGB` with illuminant D65, i.e. the camera RGB is taken to
    be linear sRGB: raw developers need a ColorMatrix to show sensible colours,
    and a wrong one only tints the rendering, while the pixel data stays exact.

    LibRaw (so rawpy and :func:`rawmeta.io.outputs.read_raw_rgb`) refuses images
    under 22 pixels on a side; the Adobe DNG SDK, darktable and RawTherapee
    were checked on larger ones.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; replaced atomically if it exists.
    rgb : numpy.ndarray
        Floating-point raw-RGB, H x W x 3 (H and W at least 1), in sensor
        orientation, nominally in [0, 1]; values outside are clipped.
    camera : CameraFacts
        Facts to record. Make and model must be ASCII; ``camera.cfa``,
        ``black_levels``, ``white_level`` and ``bits`` are not used.

    Raises
    ------
    ValueError
        If ``rgb`` is not a finite floating-point H x W x 3 array, or
        ``camera`` cannot make a DNG (see above).
    """
    atomic_write_bytes(path, linear_dng_bytes(rgb, camera))


def linear_dng_bytes(rgb: np.ndarray, camera: CameraFacts, private: bytes | None = None,
                     shot: ShotMetadata | None = None, preview: np.ndarray | None = None) -> bytes:
    """The bytes of the LinearRaw DNG :func:`write_linear_dng` writes.

    Parameters
    ----------
    rgb : numpy.ndarray
        Floating-point raw-RGB, H x W x 3, as for :func:`write_linear_dng`.
    camera : CameraFacts
        Facts to record, as for :func:`write_linear_dng`.
    private : bytes, optional
        DNGPrivateData (tag 50740): an application's own data, starting with
        its NUL-terminated name (rawmeta's restore mark, :mod:`rawmeta.io.restore_mark`).
    shot : ShotMetadata, optional
        The EXIF and XMP of the JPEG restored from (:mod:`rawmeta.io.shot_metadata`): its IFD0
        tags (Make and Model as the camera wrote them replace ``camera``'s), an EXIF IFD, a GPS IFD
        and the XMP packet (XMLPacket, tag 700).
    preview : numpy.ndarray, optional
        The sRGB picture (uint8 H x W x 3, the JPEG's pixels): IFD0 then holds
        a thumbnail of it (at most THUMBNAIL pixels on its long side, 8-bit
        RGB) for file browsers, the raw image moves to IFD0's first SubIFD and
        a baseline JPEG of it (at most PREVIEW pixels on its long side) is the
        second SubIFD, for import dialogs and catalogues, as cameras and Adobe
        lay DNGs out.

    Returns
    -------
    bytes
        The whole DNG file.

    Raises
    ------
    ValueError
        As :func:`write_linear_dng`.
    """
    camera_tags, raw_tags = _linear_tags(camera)  # checked before the pixels are converted
    camera_tags += _assumptions(camera)
    samples = linear_samples(rgb)
    return _restored_dng_bytes(samples, "LINEAR_RAW", camera_tags, raw_tags + _crop_tags(camera, samples.shape),
                               private, shot, preview)


def cfa_dng_bytes(rgb: np.ndarray, camera: CameraFacts, private: bytes | None = None,
                  shot: ShotMetadata | None = None, preview: np.ndarray | None = None) -> bytes:
    """A CFA DNG of raw-RGB mosaiced again as the camera's sensor saw it (:func:`mosaic`).

    Raw developers then demosaic, reconstruct highlights and apply camera
    profiles as they do for the camera's own RAW, and the file is about as
    large as that RAW (the camera's levels, one sample a pixel). ``rgb`` must
    be on the RAW's own pixel grid, its top-left 2 x 2 block laid out as
    ``camera.cfa`` (a Bayer pattern). Without the camera's colour matrix,
    :data:`XYZ_TO_SRGB` stands in as for the LinearRaw DNG. The other
    parameters are as for :func:`linear_dng_bytes`.
    """
    assumed = _assumptions(camera)
    if camera.xyz_to_camera is None:
        camera = dataclasses.replace(camera, xyz_to_camera=XYZ_TO_SRGB, calibration_illuminant=ILLUMINANT_D65)
    check_raw_rgb(rgb)
    cfa = mosaic(rgb, camera)
    camera_tags, raw_tags = _cfa_tags(cfa, camera)
    camera_tags += assumed
    top = camera.white_level
    if camera.linearization is not None:
        cfa = stored_codes(cfa, camera.linearization)
        raw_tags = raw_tags + [(50712, _SHORT, len(camera.linearization), camera.linearization, True)]
        top = len(camera.linearization) - 1
    return _restored_dng_bytes(cfa, "CFA", camera_tags, raw_tags + _crop_tags(camera, cfa.shape), private, shot,
                               preview, bits=max(8, top.bit_length()))


def assumptions(camera: CameraFacts) -> list[str]:
    """What a DNG of ``camera`` assumes or estimated because the RAW did not say it, one sentence each
    (empty when the RAW said everything): a colour matrix, and which white balance it carries from where."""
    said = []
    if camera.xyz_to_camera is None:
        said.append("no colour matrix in the RAW: camera RGB taken as linear sRGB")
    if camera.white_balance_source != "camera":
        r, _, b = camera.white_balance
        said.append(f"white balance R {r:.3f}, G 1, B {b:.3f}: {WB_SOURCE_WORDS[camera.white_balance_source]}")
    return said


def _assumptions(camera: CameraFacts) -> list[tuple]:
    """ProfileName (tag 50936, shown by raw developers and exiftool) saying what was assumed, if anything."""
    said = assumptions(camera)
    return [(50936, _ASCII, 0, "rawmeta: " + "; ".join(said), True)] if said else []


def stored_codes(values: np.ndarray, table: tuple[int, ...]) -> np.ndarray:
    """The codes (uint16) whose LinearizationTable entries are nearest ``values`` (uint16 data units).

    The camera stored such codes, so its values were exactly the table's levels; a restored value between
    two levels takes the nearer (the lower on a tie), and a level several codes share its first code.
    """
    levels = np.asarray(table, np.int64)
    every = np.arange(65536)
    upper = np.minimum(np.searchsorted(levels, every), levels.size - 1)
    lower = np.maximum(upper - 1, 0)
    nearest = np.where(every - levels[lower] <= levels[upper] - every, lower, upper)
    first = np.searchsorted(levels, levels[nearest])  # a level several codes share: its first code
    return first.astype(np.uint16)[values]


def _crop_tags(camera: CameraFacts, shape: tuple[int, ...]) -> list[tuple]:
    """DefaultCropOrigin and DefaultCropSize of the frame the RAW declared, when it fits in ``shape``."""
    if camera.crop is None:
        return []
    left, top, width, height = camera.crop
    if left + width > shape[1] or top + height > shape[0]:
        return []
    return [
        (50719, _LONG, 2, (left, top), True),  # DefaultCropOrigin
        (50720, _LONG, 2, (width, height), True),  # DefaultCropSize
    ]


def mosaic(rgb: np.ndarray, camera: CameraFacts) -> np.ndarray:
    """The Bayer mosaic (uint16 H x W) of raw-RGB in [0, 1] at the camera's black and white levels.

    Each pixel keeps the channel its CFA position records, scaled as LibRaw
    scaled it: ``value * (white - black) + black``, with the black level of
    that position (``camera.black_levels`` in LibRaw's R, G, B, G2 order).
    """
    if camera.cfa not in BAYER_PATTERNS:
        raise ValueError(f"camera.cfa must be one of {BAYER_PATTERNS} to mosaic, not {camera.cfa!r}")
    out = np.empty(rgb.shape[:2], np.uint16)
    channel = {0: 0, 1: 1, 2: 2, 3: 1}  # LibRaw's colour index -> raw-RGB channel (G2 is green)
    for k, index in enumerate(_libraw_colour_indices(camera.cfa)):
        dy, dx = divmod(k, 2)
        black = camera.black_levels[index]
        plane = np.clip(rgb[dy::2, dx::2, channel[index]], 0.0, 1.0, dtype=np.float64)
        out[dy::2, dx::2] = np.rint(plane * (camera.white_level - black) + black)
    return out


def _restored_dng_bytes(samples: np.ndarray, photometric: str, camera_tags: list[tuple], raw_tags: list[tuple],
                        private: bytes | None, shot: ShotMetadata | None, preview: np.ndarray | None,
                        bits: int = 16) -> bytes:
    """A restored DNG: the image (samples below ``2**bits``) with the restore mark, the shot's EXIF and XMP,
    a thumbnail and a JPEG preview."""
    if private is not None:
        camera_tags = camera_tags + [(PRIVATE_DATA_TAG, _BYTE, len(private), private, True)]
    shot = shot or ShotMetadata()
    previews = None
    if preview is not None:
        # the thumbnail is reduced from the preview: one pass over the whole image instead of two
        reduced = np.asarray(_reduced(preview, PREVIEW))
        previews = Previews(thumbnail(reduced), preview_jpeg(reduced))
    data = _dng_bytes(samples, photometric, _with_shot_tags(camera_tags, shot), raw_tags, previews, bits)
    return _with_sub_ifds(data, {_EXIF_IFD: shot.exif, _GPS_IFD: shot.gps})


def check_raw_rgb(rgb: np.ndarray) -> None:
    """Check that ``rgb`` is a finite floating-point H x W x 3 array.

    Parameters
    ----------
    rgb : numpy.ndarray
        Candidate raw-RGB; H and W must be at least 1.

    Raises
    ------
    ValueError
        If it is not.
    """
    if not isinstance(rgb, np.ndarray) or rgb.dtype.kind != "f":
        dtype = getattr(rgb, "dtype", type(rgb).__name__)
        raise ValueError(f"raw-RGB must be a floating-point numpy array, not {dtype}")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ValueError(f"raw-RGB must be H x W x 3, not shape {rgb.shape}")
    if not np.isfinite(rgb).all():
        raise ValueError("raw-RGB has non-finite values")


def linear_samples(rgb: np.ndarray) -> np.ndarray:
    """16-bit samples of raw-RGB: ``round(clip(rgb, 0, 1) * 65535)``.

    Parameters
    ----------
    rgb : numpy.ndarray
        Finite floating-point array, H x W x 3 with H and W at least 1.

    Returns
    -------
    numpy.ndarray
        ``uint16`` H x W x 3, C-contiguous.

    Raises
    ------
    ValueError
        If ``rgb`` is not such an array (see :func:`check_raw_rgb`).
    """
    check_raw_rgb(rgb)
    samples = np.empty(rgb.shape, np.uint16)
    # In float64 (exact for float32 input), a band of rows at a time to bound memory.
    for y in range(0, rgb.shape[0], _ROWS_PER_BAND):
        band = np.clip(rgb[y : y + _ROWS_PER_BAND], 0.0, 1.0, dtype=np.float64)
        band *= LINEAR_WHITE
        samples[y : y + _ROWS_PER_BAND] = np.rint(band, out=band)
    return samples


@dataclasses.dataclass(frozen=True)
class Previews:
    """What a DNG shows before it is developed: an RGB thumbnail and a baseline JPEG preview (its bytes)."""

    thumbnail: np.ndarray
    jpeg: bytes

    def jpeg_shape(self) -> tuple[int, int, int]:
        """(height, width, components) of the JPEG preview."""
        return segments.parse(self.jpeg).frame()


def _dng_bytes(data: np.ndarray, photometric: str, camera_tags: list[tuple], raw_tags: list[tuple],
               previews: Previews | None = None, bits: int = 16) -> bytes:
    """A DNG file of ``data`` in lossless JPEG tiles or, narrower than a tile, one strip (Compression 7),
    at ``bits`` bits per sample.

    Without ``previews``, one IFD holds the image and all tags. With them, IFD0
    holds the thumbnail (NewSubFileType 1) and the camera-level tags, the image
    with its own tags (``raw_tags``: levels, CFA) is IFD0's first SubIFD and
    the JPEG preview (NewSubFileType 1, YCbCr, Compression 7) its second.
    """
    # LibRaw misreads tiles wider than the image and reads one strip only: a narrow image is one strip.
    tiled = data.shape[1] >= TILE
    tiles = _lossless_jpeg_tiles(data, bits) if tiled else [_lossless_jpeg(data, bits)]
    # Built in memory: tifffile cannot write to the os.fdopen() file object
    # atomic_write yields (its ``name`` is an int, not a path).
    buffer = io.BytesIO()
    # shaped=False / metadata=None: no tifffile JSON ImageDescription.
    common = {"software": SOFTWARE, "metadata": None, "datetime": None}
    # tifffile encodes JPEG only through imagecodecs: the streams come encoded, are written as if deflated
    # (which tifffile does not re-check), and the Compression tags are set to 7 below.
    with tifffile.TiffWriter(buffer, byteorder="<", bigtiff=False, shaped=False) as tif:
        if previews is not None:
            tif.write(previews.thumbnail, photometric="rgb", compression=None, subfiletype=1, subifds=2,
                      extratags=camera_tags, **common)
        tif.write(
            iter(tiles),
            shape=data.shape,
            dtype=data.dtype,
            photometric=photometric,
            compression="zlib",
            planarconfig="contig" if data.ndim == 3 else None,
            tile=(TILE, TILE) if tiled else None,
            rowsperstrip=None if tiled else data.shape[0],
            subfiletype=0,
            extratags=raw_tags if previews is not None else camera_tags + raw_tags,
            **common,
        )
        if previews is not None:
            height, width, _ = previews.jpeg_shape()
            tif.write(iter([previews.jpeg]), shape=(height, width, 3), dtype=np.uint8, photometric="rgb",
                      compression="zlib", planarconfig="contig", rowsperstrip=height, subfiletype=1,
                      extratags=[(530, _SHORT, 2, (2, 2), True),  # YCbCrSubSampling: the JPEG's 4:2:0
                                 (50970, _LONG, 1, _PREVIEW_SRGB, True)],  # PreviewColorSpace
                      **common)
    written_bytes = buffer.getvalue()
    out = bytearray(written_bytes)
    with tifffile.TiffFile(io.BytesIO(written_bytes)) as written:
        if previews is None:
            image, preview = written.pages[0], None
        else:
            image, preview = tifffile.TiffPages(written.pages[0])
            # tifffile types the pointers IFD (13); DNG readers and exiftool expect LONG
            struct.pack_into("<H", out, written.pages[0].tags["SubIFDs"].offset + 2, _LONG)
            # tifffile also chains the second SubIFD to the first; DNG wants a SubIFD tree, not chains
            entries = struct.unpack_from("<H", out, image.offset)[0]
            struct.pack_into("<I", out, image.offset + 2 + 12 * entries, 0)
        for page in (image, preview):
            if page is not None:
                struct.pack_into("<H", out, page.tags["Compression"].valueoffset, _LOSSLESS_JPEG)
        if preview is not None:
            struct.pack_into("<H", out, preview.tags["PhotometricInterpretation"].valueoffset, _YCBCR)
        depth = image.tags["BitsPerSample"]
    # tifffile writes no other depth than the dtype's with compression: patched like Compression (one sample a
    # pixel, so the value sits in the tag itself).
    if bits != 16:
        if depth.count != 1:
            raise ValueError("only a one-sample image is stored at other than 16 bits")
        struct.pack_into("<H", out, depth.valueoffset, bits)
    return bytes(out)


def thumbnail(srgb: np.ndarray) -> np.ndarray:
    """``srgb`` (uint8 H x W x 3) reduced to at most THUMBNAIL pixels on its long side (never enlarged)."""
    return np.asarray(_reduced(srgb, THUMBNAIL))


def preview_jpeg(srgb: np.ndarray) -> bytes:
    """``srgb`` (uint8 H x W x 3) reduced to at most PREVIEW pixels on its long side (never enlarged), as a
    baseline 4:2:0 JPEG stream without APPn segments (a TIFF JPEG strip has no use for JFIF's)."""
    buffer = io.BytesIO()
    _reduced(srgb, PREVIEW).save(buffer, "JPEG", quality=PREVIEW_QUALITY, subsampling="4:2:0", optimize=True)
    layout = segments.parse(buffer.getvalue())
    return segments.splice(layout, [s for s in layout.segments if s.is_app()], 2, b"")


def _reduced(srgb: np.ndarray, side: int) -> Image.Image:
    image = Image.fromarray(np.ascontiguousarray(srgb, dtype=np.uint8))
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return image


def _lossless_jpeg(block: np.ndarray, bits: int) -> bytes:
    """One lossless JPEG stream of a tile or strip at a precision of ``bits``.

    A mosaic's samples go in pairs, as the 2 components of one JPEG pixel (half as wide), as cameras and
    Adobe write them: each sample is then predicted from the last one of its own colour, not from its
    neighbour of another colour, which halves the stream of a restored mosaic.
    """
    if block.ndim == 2 and block.shape[1] % 2 == 0:
        block = block.reshape(block.shape[0], block.shape[1] // 2, 2)
    return ljpeg.encode(block, bits)


def _lossless_jpeg_tiles(data: np.ndarray, bits: int) -> list[bytes]:
    """Each TILE x TILE tile of ``data``, row by row, as a lossless JPEG stream; edge tiles are padded by
    repeating the last row and column (DNG readers crop them away).

    The tiles are encoded on as many threads as the NumPy engine's pool (:func:`rawmeta.threads.pool_threads`:
    the free cores, or the count folder workers set): the encoder's array work releases the GIL.
    """
    height, width = data.shape[:2]

    def encoded(corner: tuple[int, int]) -> bytes:
        y, x = corner
        tile = data[y : y + TILE, x : x + TILE]
        pad = ((0, TILE - tile.shape[0]), (0, TILE - tile.shape[1])) + ((0, 0),) * (data.ndim - 2)
        return _lossless_jpeg(np.pad(tile, pad, mode="edge"), bits)

    corners = [(y, x) for y in range(0, height, TILE) for x in range(0, width, TILE)]
    with ThreadPoolExecutor(max_workers=threads.pool_threads()) as pool:
        return list(pool.map(encoded, corners))


def _with_shot_tags(tags: list[tuple], shot: ShotMetadata) -> list[tuple]:
    """``tags`` with the shot's IFD0 tags (replacing Make and Model), its XMP, and pointers (0 for now)
    to the EXIF and GPS IFDs it has."""
    extra = []
    for code, (dtype, value) in sorted(shot.ifd0.items()):
        count, data = flat_value(dtype, value)
        extra.append((code, dtype, count, data, True))
    replaced = {code for code, *_ in extra}
    tags = [t for t in tags if t[0] not in replaced] + extra
    if shot.xmp:
        tags.append((_XMP, _BYTE, len(shot.xmp), shot.xmp, True))
    for pointer, ifd in ((_EXIF_IFD, shot.exif), (_GPS_IFD, shot.gps)):
        if ifd:  # tifffile will not write the pointer tags: a stand-in in the same place of the sort order
            tags.append((pointer + 1, _LONG, 1, 0, True))
    return tags


def _with_sub_ifds(tiff: bytes, ifds: dict[int, dict[int, tuple[int, object]]]) -> bytes:
    """``tiff`` with each non-empty IFD of ``ifds`` appended and IFD0's pointer tag to it set."""
    ifds = {pointer: tags for pointer, tags in ifds.items() if tags}
    if not ifds:
        return tiff
    with tifffile.TiffFile(io.BytesIO(tiff)) as written:
        entries = {pointer: written.pages[0].tags[pointer + 1] for pointer in ifds}
        where = {pointer: (tag.offset, tag.valueoffset) for pointer, tag in entries.items()}
    out = bytearray(tiff)
    for pointer, tags in ifds.items():
        out += b"\0" * (-len(out) % 4)
        entry, value = where[pointer]
        struct.pack_into("<H", out, entry, pointer)  # the stand-in becomes the pointer tag
        struct.pack_into("<I", out, value, len(out))
        out += _ifd_bytes(tags, len(out))
    return bytes(out)


def _ifd_bytes(tags: dict[int, tuple[int, object]], offset: int) -> bytes:
    """A little-endian TIFF IFD of ``tags`` (tag -> (type, value)) starting at file offset ``offset``,
    with the values that do not fit an entry after it."""
    entries = sorted(tags.items())
    values_at = offset + 2 + 12 * len(entries) + 4
    table, values = bytearray(struct.pack("<H", len(entries))), bytearray()
    for code, (dtype, value) in entries:
        count, data = flat_value(dtype, value)
        raw = value_bytes(dtype, data, "<")
        if len(raw) <= 4:
            table += struct.pack("<HHI", code, dtype, count) + raw.ljust(4, b"\0")
        else:
            table += struct.pack("<HHII", code, dtype, count, values_at + len(values))
            values += raw + b"\0" * (len(raw) % 2)
    return bytes(table + struct.pack("<I", 0) + values)


def _libraw_colour_indices(cfa: str) -> tuple[int, int, int, int]:
    """LibRaw's colour index (0 R, 1 G, 2 B, 3 G2) of each 2 x 2 CFA position.

    LibRaw calls the green that shares a row with blue G2, whatever the phase:
    ``RGGB -> (0, 1, 3, 2)``, ``BGGR -> (2, 3, 1, 0)``, ``GRBG -> (1, 0, 2, 3)``,
    ``GBRG -> (3, 2, 0, 1)`` (``rawpy.RawPy.raw_pattern`` read row by row).
    ``CameraFacts.black_levels`` follows LibRaw's ``black_level_per_channel``,
    so this is the map from it to DNG BlackLevel positions.

    Parameters
    ----------
    cfa : str
        A Bayer pattern, one of :data:`BAYER_PATTERNS`.

    Returns
    -------
    tuple of 4 int
        Colour index of the top-left, top-right, bottom-left and bottom-right
        position.
    """
    indices = []
    for k, c in enumerate(cfa):
        row = cfa[2 * (k // 2) : 2 * (k // 2) + 2]
        indices.append(3 if c == "G" and "B" in row else _CFA_CODE[c])
    return tuple(indices)  # type: ignore[return-value]


def _cfa_tags(cfa: np.ndarray, camera: CameraFacts) -> tuple[list[tuple], list[tuple]]:
    """Check the inputs and return the CFA DNG's camera-level and image tags as tifffile ``extratags``."""
    if not isinstance(cfa, np.ndarray) or cfa.dtype != np.uint16:
        dtype = getattr(cfa, "dtype", type(cfa).__name__)
        raise ValueError(f"CFA mosaic must be a uint16 numpy array, not {dtype}")
    if cfa.ndim != 2 or cfa.shape[0] < 2 or cfa.shape[1] < 2:
        raise ValueError(f"CFA mosaic must be 2-D and at least 2 x 2, not shape {cfa.shape}")
    if not camera.cfa:
        raise ValueError(
            "camera.cfa is empty (a demosaiced source): cannot write a CFA DNG without a CFA pattern"
        )
    if camera.cfa not in BAYER_PATTERNS:
        raise ValueError(f"camera.cfa must be one of {BAYER_PATTERNS}, not {camera.cfa!r}")
    if camera.xyz_to_camera is None:
        raise ValueError("camera.xyz_to_camera is None: a DNG needs a ColorMatrix1")
    if not 0 < camera.white_level <= 65535:
        raise ValueError(f"white level must be 1-65535, not {camera.white_level}")
    if not all(0 <= b < camera.white_level for b in camera.black_levels):
        raise ValueError(f"black levels {camera.black_levels} must be below the white level")

    pattern = tuple(_CFA_CODE[c] for c in camera.cfa)
    black = tuple(camera.black_levels[i] for i in _libraw_colour_indices(camera.cfa))
    return _camera_tags(camera, camera.xyz_to_camera, camera.calibration_illuminant), [
        (33421, _SHORT, 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, _BYTE, 4, pattern, True),  # CFAPattern
        (50710, _BYTE, 3, (0, 1, 2), True),  # CFAPlaneColor
        (50711, _SHORT, 1, 1, True),  # CFALayout: rectangular
        (50713, _SHORT, 2, (2, 2), True),  # BlackLevelRepeatDim
        (50714, _LONG, 4, black, True),  # BlackLevel
        (50717, _LONG, 1, camera.white_level, True),  # WhiteLevel
    ]


def _linear_tags(camera: CameraFacts) -> tuple[list[tuple], list[tuple]]:
    """Check ``camera`` and return the LinearRaw DNG's camera-level and image tags as tifffile ``extratags``."""
    if camera.xyz_to_camera is None:
        matrix, illuminant = XYZ_TO_SRGB, ILLUMINANT_D65
    else:
        matrix, illuminant = camera.xyz_to_camera, camera.calibration_illuminant
    # BlackLevel and WhiteLevel have one value per sample (BlackLevelRepeatDim
    # defaults to 1 x 1).
    return _camera_tags(camera, matrix, illuminant), [
        (50714, _LONG, 3, (0, 0, 0), True),  # BlackLevel
        (50717, _LONG, 3, (LINEAR_WHITE,) * 3, True),  # WhiteLevel
    ]


def _camera_tags(camera: CameraFacts, matrix: tuple[float, ...], illuminant: int) -> list[tuple]:
    """Check and return the tags every rawmeta DNG has, as tifffile ``extratags``.

    Make, Model, UniqueCameraModel, Orientation, DNGVersion,
    DNGBackwardVersion, ColorMatrix1 (``matrix``), CalibrationIlluminant1
    (``illuminant``) and AsShotNeutral (``1 / camera.white_balance``).

    Raises
    ------
    ValueError
        If ``matrix`` has non-finite values or make and model are not ASCII
        (``CameraFacts`` itself keeps white-balance multipliers positive).
    """
    if not all(np.isfinite(v) for v in matrix):
        raise ValueError("camera.xyz_to_camera has non-finite values")
    make, model = camera.make.strip(), camera.model.strip()
    if not (make + model).isascii():
        raise ValueError(f"make and model must be ASCII for TIFF, not {make!r} {model!r}")

    colour_matrix = []
    for v in matrix:
        colour_matrix += [round(v * _MATRIX_DENOMINATOR), _MATRIX_DENOMINATOR]
    neutral = []
    for m in camera.white_balance:
        neutral += [round(_NEUTRAL_DENOMINATOR / m), _NEUTRAL_DENOMINATOR]
    unique = f"{make} {model}".strip() or "rawmeta camera"
    return [
        (271, _ASCII, 0, make or "Unknown", True),  # Make
        (272, _ASCII, 0, model or "Unknown", True),  # Model
        (274, _SHORT, 1, camera.orientation, True),  # Orientation
        (50706, _BYTE, 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, _BYTE, 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, _ASCII, 0, unique, True),  # UniqueCameraModel
        (50721, _SRATIONAL, 9, tuple(colour_matrix), True),  # ColorMatrix1
        (50728, _RATIONAL, 3, tuple(neutral), True),  # AsShotNeutral
        (50778, _SHORT, 1, illuminant, True),  # CalibrationIlluminant1
    ]
